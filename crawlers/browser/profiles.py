"""Login profiles: persistent chromium user-data folders under DATA_DIR/browser/profiles/NAME, one
per account a source captures with (`browser_profile` NAME).

A profile is made by `tawthiq browser login NAME`: chromium opens, visible, with that profile and
*without* the recording proxy (a login is not evidence, and the password typed must not land in
a WARC), and the user logs in; what the site stores (cookies, local storage) stays in the folder
for later captures. Profiles hold live credentials, so they are kept out of everything tawthiq
hands out: exports read only WARC files and the catalog, and nothing here is either. Chromium
keeps only cookies that have an expiry: a site that logs in with session cookies alone is logged
out again at the next start (Browsertrix has the same limit).

A profile open in a browser holds chromium's `SingletonLock` (a link to "HOST-PID"): a login and a
capture cannot use one profile at once, and a profile in use is not deleted.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tawthiq.crawlers.browser.chromium import CHROMIUM_SWITCHES, find_chromium
from tawthiq.errors import NotFound, UserError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ProfileError(UserError, ValueError):
    """A profile name, or what was asked of a profile, is wrong; the message says why."""


class ProfileNotFound(NotFound, ProfileError):
    """No profile has that name."""


def profiles_dir(home: Path) -> Path:
    return Path(home) / "browser" / "profiles"


def profile_dir(home: Path, name: str) -> Path:
    """The folder of profile `name`; a name that is not a plain word (a path, `..`) is refused, so
    a setting cannot point chromium at a folder outside the profiles."""
    if not _NAME.match(name or ""):
        raise ProfileError(f"profile name {name!r}: use letters, digits, '_', '-' or '.' (up to 64)")
    return profiles_dir(home) / name


@dataclass
class ProfileInfo:
    name: str
    path: Path
    size: int
    modified: datetime
    in_use_by: str | None  # "HOST-PID" of the chromium that has it open


def holder(profile: Path) -> str | None:
    """Who has the profile open ("HOST-PID"), or None. A lock left by a chromium that died (on
    this host) does not count."""
    lock = profile / "SingletonLock"
    try:
        target = os.readlink(lock)
    except OSError:
        return None
    host, _, pid = target.rpartition("-")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
    return target


def list_profiles(home: Path) -> list[ProfileInfo]:
    folder = profiles_dir(home)
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if not path.is_dir() or not _NAME.match(path.name):
            continue
        size, newest = 0, path.stat().st_mtime
        for item in path.rglob("*"):
            try:
                stat = item.lstat()
            except OSError:
                continue  # chromium removed it meanwhile
            if item.is_file() and not item.is_symlink():
                size += stat.st_size
                newest = max(newest, stat.st_mtime)
        found.append(ProfileInfo(path.name, path, size, datetime.fromtimestamp(newest, timezone.utc), holder(path)))
    return found


def delete_profile(home: Path, name: str) -> Path:
    """Delete profile `name` (the logins in it are gone: log in again to use it)."""
    path = profile_dir(home, name)
    if not path.is_dir():
        raise ProfileNotFound(f"no browser profile named {name!r} (see `tawthiq browser profiles`)")
    using = holder(path)
    if using:
        raise ProfileError(f"profile {name!r} is open in a browser ({using}): close it, or wait for the capture")
    shutil.rmtree(path)
    return path


def require_display() -> None:
    """A visible browser needs a display; say so in one line instead of chromium's own error."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise ProfileError("`tawthiq browser login` opens a visible browser and needs a display (neither DISPLAY "
                           "nor WAYLAND_DISPLAY is set): run it on a desktop, over `ssh -X`, or under xvfb-run; "
                           "or give --headless --url URL for a scripted login")


def login(profile: Path, *, url: str | None, headless: bool, close_after: float | None,
          executable: str = "", user_agent: str = "", load_seconds: float = 30.0) -> str:
    """Open chromium with `profile` and no proxy, at `url` if given, and return once the browser is
    closed: by the user (headful), or `close_after` seconds after the page loaded (scripted use;
    headless without it: as soon as the page has loaded). Returns the last page's URL."""
    from playwright.sync_api import Error, TimeoutError as PlaywrightTimeout, sync_playwright

    if not headless:
        require_display()
    using = holder(profile)
    if using:
        raise ProfileError(f"profile {profile.name!r} is open in another browser ({using}): close it, "
                           "or wait for the capture using it")
    if headless and close_after is None:
        close_after = 0.0
    profile.mkdir(parents=True, exist_ok=True)
    os.chmod(profile, 0o700)  # live logins: the owner's only
    options: dict[str, Any] = {
        "executable_path": find_chromium(executable), "headless": headless, "args": list(CHROMIUM_SWITCHES),
        # The window's own size when visible; the capture's viewport is its own setting.
        "no_viewport": not headless,
    }
    if user_agent:
        options["user_agent"] = user_agent
    with sync_playwright() as playwright:
        try:
            context = playwright.chromium.launch_persistent_context(str(profile), **options)
        except Error as exc:
            raise ProfileError(f"chromium did not start with profile {profile.name!r}: "
                               f"{str(exc).strip().splitlines()[0]}") from None
        last = url or ""
        try:
            page = context.pages[0] if context.pages else context.new_page()
            if url:
                try:
                    page.goto(url, wait_until="load", timeout=load_seconds * 1000)
                except Error as exc:
                    if headless:
                        raise ProfileError(f"{url} did not load: {str(exc).strip().splitlines()[0]}") from None
            deadline = None if close_after is None else time.monotonic() + close_after
            while True:
                pages = [p for p in context.pages if not p.is_closed()]
                if pages:
                    last = pages[-1].url or last
                remaining = None if deadline is None else deadline - time.monotonic()
                if not pages or (remaining is not None and remaining <= 0):
                    break
                try:
                    context.wait_for_event("close", timeout=max(50.0, min(500.0, (remaining or 0.5) * 1000)))
                    break  # the user closed the browser
                except PlaywrightTimeout:
                    continue
                except Error:
                    break
        finally:
            try:
                context.close()  # chromium writes its cookies to the profile as it shuts down
            except Error:
                pass
    return last
