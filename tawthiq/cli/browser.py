"""`tawthiq browser ...`: the login profiles browser capture uses (crawlers/browser/profiles.py).

`login NAME` opens chromium with the profile DATA_DIR/browser/profiles/NAME and no recording proxy,
for a person to log in; a source then captures with it (`browser_profile: NAME` in sources.yaml).
`profiles` lists them, `logout NAME` deletes one. Profiles are never exported."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from tawthiq.cli.app import app
from tawthiq.cli.common import console, human_bytes
from tawthiq.cli.options import ConfigFile, DataDir
from tawthiq.settings import load_settings

browser_app = typer.Typer(help="Login profiles for browser capture (DATA_DIR/browser/profiles).",
                          no_args_is_help=True)
app.add_typer(browser_app, name="browser")


@browser_app.command("login")
def browser_login(
    name: Annotated[str, typer.Argument(help="the profile: letters, digits, '_', '-', '.'")],
    url: Annotated[Optional[str], typer.Option(help="page to open (the site's login page)")] = None,
    headless: Annotated[bool, typer.Option(help="no window, for scripted logins (needs --url)")] = False,
    close_after: Annotated[Optional[float], typer.Option(
        "--close-after", min=0, metavar="SECONDS",
        help="close the browser this long after the page loaded (default: when you close it; "
             "with --headless: at once)")] = None,
    data_dir: DataDir = None,
    config: ConfigFile = None,
) -> None:
    """Open a browser with login profile NAME (made if new) for you to log in; close the browser
    when done. No recording proxy: what you type is not archived."""
    from tawthiq.crawlers.browser.profiles import ProfileError, login, profile_dir, require_display
    from tawthiq.crawlers.browser.chromium import BrowserError

    settings = load_settings(data_dir, config)
    if url is not None and not url.startswith(("http://", "https://")):
        raise ProfileError(f"--url {url!r}: give an http(s) address")
    if headless and url is None:
        raise ProfileError("--headless needs --url: there is no one to type an address")
    path = profile_dir(settings.home, name)
    new = not path.exists()
    if not headless:
        require_display()
        console.print(f"opening chromium with profile {name}{' (new)' if new else ''}: log in, then close the "
                      "browser window", highlight=False)
    try:
        last = login(path, url=url, headless=headless, close_after=close_after,
                     executable=settings.browser_executable, user_agent=settings.browser_user_agent,
                     load_seconds=settings.browser_load_seconds)
    except BrowserError as exc:
        raise ProfileError(str(exc)) from None
    console.print(f"profile {name} saved in {path}{f' (last page {last})' if last else ''}; use it with "
                  f"`--browser-profile {name}` on a source, or `--set browser_profile={name}`",
                  highlight=False, markup=False)


@browser_app.command("profiles")
def browser_profiles(data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """List the login profiles: size, last change, and whether a browser has one open."""
    from tawthiq.crawlers.browser.profiles import list_profiles

    settings = load_settings(data_dir, config)
    found = list_profiles(settings.home)
    if not found:
        console.print("no browser profiles yet: make one with `tawthiq browser login NAME --url LOGIN_PAGE`")
    for p in found:
        using = f"  (open: {p.in_use_by})" if p.in_use_by else ""
        console.print(f"{p.name}  {human_bytes(p.size)}  changed {p.modified:%Y-%m-%d %H:%M:%S}Z{using}",
                      highlight=False, markup=False)


@browser_app.command("logout")
def browser_logout(name: str, data_dir: DataDir = None, config: ConfigFile = None) -> None:
    """Delete login profile NAME (its cookies and stored logins); sources that use it capture
    logged out until you log in again, and a logged-out marker pauses them."""
    from tawthiq.crawlers.browser.profiles import delete_profile

    settings = load_settings(data_dir, config)
    path = delete_profile(settings.home, name)
    console.print(f"deleted profile {name} ({path})", highlight=False, markup=False)
