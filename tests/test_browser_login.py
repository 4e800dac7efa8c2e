"""Logged-in browser capture (issue 15): login profiles, and a logged-out page pausing its source.

A local site on 127.0.0.1 shows a login wall (`#login-wall`) unless the request carries the
cookie its /login page sets. A source captures it with profile "acct": with a profile that lacks
the cookie the run archives no post and pauses the source, saying why in `runs`, `sources list`
and the web app; after a fresh login (`tawthiq browser login acct --headless --url .../login`,
the scripted form of the command) and a resume, the next run captures the page as a post. The
export of that capture holds no file of the profile. Real chromium, real mitmdump.
"""

from __future__ import annotations

import gzip
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tawthiq.crawlers.browser.chromium import BrowserError, find_chromium
from tawthiq.crawlers.browser.proxy import ProxyError, find_mitmdump
from tawthiq.demo.server import Incoming, LocalServer, Resource
from tests.conftest import all_blocks, run_tawthiq


def _need_browser() -> None:
    try:
        find_chromium()
        find_mitmdump()
    except (BrowserError, ProxyError) as exc:
        pytest.skip(f"browser capture needs chromium and mitmdump: {exc}")


COOKIE = "tawthiq_test_session=synthetic-7f3a9"
WALL = b"<!doctype html><html><head><title>Sign in</title></head><body><form id=login-wall>" \
       b"<p>Sign in to continue</p><input name=user></form></body></html>"
FEED = """<!doctype html><html lang=en><head><title>Members bulletin</title></head><body><main id=app></main>
<script>document.getElementById('app').innerHTML = '<article><h1>Members bulletin</h1><p>' +
['The synthetic relief convoy', 'reached the northern depot', 'at dawn on Tuesday.'].join(' ') +
'</p></article>';</script></body></html>""".encode()


def serve_walled_site(server: LocalServer) -> None:
    def feed(incoming: Incoming) -> Resource:
        if COOKIE in incoming.headers.get("Cookie", ""):
            return Resource(FEED)
        return Resource(WALL)

    server.routes["/feed"] = feed
    server.routes["/"] = Resource(b"<html><body><p>Front page, no login here</p></body></html>")
    server.routes["/login"] = Resource(
        b"<html><body><p>You are signed in</p></body></html>",
        # A cookie with an expiry: chromium keeps only those in a profile across restarts.
        headers=[("Set-Cookie", f"{COOKIE}; Max-Age=3600; Path=/; HttpOnly")])


def _posts(data_dir: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(data_dir / "catalog.sqlite") as db:
        return db.execute("select platform, post_id from posts").fetchall()


def test_a_logged_out_profile_pauses_the_source_and_a_fresh_login_resumes_it(
        server: LocalServer, data_dir: Path, tmp_path: Path) -> None:
    _need_browser()
    serve_walled_site(server)
    feed = server.url("/feed")
    added = run_tawthiq(["sources", "add", "members", f"browser:{feed}", "--every", "1h",
                         "--browser-profile", "acct", "--logged-out-marker", "#login-wall"], data_dir=data_dir)
    assert added.code == 0, added.err

    # A profile that never logged in (it visited the site's front page only).
    made = run_tawthiq(["browser", "login", "acct", "--headless", "--url", server.url("/")], data_dir=data_dir)
    assert made.code == 0, made.err
    assert (data_dir / "browser" / "profiles" / "acct").is_dir()
    assert "acct" in run_tawthiq(["browser", "profiles"], data_dir=data_dir).out

    walled = run_tawthiq(["sources", "run", "members"], data_dir=data_dir)
    assert walled.code == 1, walled.out + walled.err
    assert "paused: logged out" in walled.out
    assert _posts(data_dir) == []  # the login wall is not a post
    failures = [b for h, b in all_blocks(data_dir) if h.get("WARC-Type") == "metadata" and b'"logged-out"' in b]
    assert len(failures) == 1 and feed.encode() in failures[0]
    listed = run_tawthiq(["sources", "list"], data_dir=data_dir).out
    assert "(paused: logged out" in listed and "tawthiq browser login acct" in listed
    history = run_tawthiq(["runs"], data_dir=data_dir).out
    assert "paused: logged out" in history and "#login-wall" in history

    from fastapi.testclient import TestClient

    from tawthiq.settings import load_settings
    from tawthiq.web.app import create_app

    with TestClient(create_app(load_settings(data_dir))) as web:
        assert "logged out" in web.get("/sources").text
        assert "paused: logged out" in web.get("/runs").text
        assert web.get("/api/sources").json()[0]["paused"] is True

    refused = run_tawthiq(["sources", "run", "members"], data_dir=data_dir)
    assert refused.code == 2 and "members is paused" in refused.err

    # A fresh profile that holds the site's cookie, made by the scripted login.
    assert run_tawthiq(["browser", "logout", "acct"], data_dir=data_dir).code == 0
    assert not (data_dir / "browser" / "profiles" / "acct").exists()
    logged_in = run_tawthiq(["browser", "login", "acct", "--headless", "--url", server.url("/login"),
                             "--close-after", "0.5"], data_dir=data_dir)
    assert logged_in.code == 0, logged_in.err
    assert run_tawthiq(["sources", "resume", "members"], data_dir=data_dir).code == 0
    captured = run_tawthiq(["sources", "run", "members"], data_dir=data_dir)
    assert captured.code == 0, captured.out + captured.err
    assert _posts(data_dir) == [("browser", feed)]
    found = run_tawthiq(["search", "relief convoy"], data_dir=data_dir)
    assert feed in found.out
    assert "paused" not in run_tawthiq(["sources", "list"], data_dir=data_dir).out

    # The browser sent the login's cookie; the request records keep its length and hash only.
    requests = [(h, b) for h, b in all_blocks(data_dir) if h.get("WARC-Type") == "request"
                and h.get("WARC-Target-URI") == feed]
    assert len(requests) == 2 and not [b for _, b in requests if COOKIE.encode() in b]
    walled_request, login_request = requests  # the logged-out run's request had no cookie to send
    assert b"Cookie: [withheld: " in login_request[1]
    assert "Cookie withheld" in login_request[0].get("WARC-Tawthiq-Withheld", "")

    # The export of the logged-in capture holds WARC records and the bundle's own files only:
    # nothing of the profile (its cookie database, its folder), and not the cookie itself.
    bundle = tmp_path / "members.wacz"
    exported = run_tawthiq(["export", "-o", str(bundle), "--all"], data_dir=data_dir)
    assert exported.code == 0, exported.err
    profile_files = {p.name for p in (data_dir / "browser" / "profiles" / "acct").rglob("*") if p.is_file()}
    assert "Cookies" in profile_files  # the login is in the profile...
    with zipfile.ZipFile(bundle) as wacz:
        names = wacz.namelist()
        assert not [n for n in names if "profiles" in n or Path(n).name in profile_files - {"index.html"}]
        cookie_db = (data_dir / "browser" / "profiles" / "acct" / "Default" / "Cookies").read_bytes()
        for name in names:
            data = wacz.read(name)
            data = gzip.decompress(data) if name.endswith(".gz") else data
            assert cookie_db[:4096] not in data  # ...and not in the bundle
            assert COOKIE.split("=")[1].encode() not in data, name


def test_login_without_a_display_says_so(data_dir: Path) -> None:
    result = run_tawthiq(["browser", "login", "acct"], data_dir=data_dir, env={"DISPLAY": "", "WAYLAND_DISPLAY": ""})
    assert result.code == 2
    assert result.err.count("\n") == 1 and "needs a display" in result.err and "--headless" in result.err
    assert not (data_dir / "browser" / "profiles" / "acct").exists()


def test_profile_names_and_unknown_profiles_are_refused(data_dir: Path) -> None:
    bad = run_tawthiq(["browser", "login", "../elsewhere", "--headless", "--url", "http://127.0.0.1:9/"],
                      data_dir=data_dir)
    assert bad.code == 2 and "profile name" in bad.err
    gone = run_tawthiq(["browser", "logout", "nobody"], data_dir=data_dir)
    assert gone.code == 2 and "no browser profile named 'nobody'" in gone.err
    path = run_tawthiq(["capture", "browser:http://127.0.0.1:9/", "--set", "browser_profile=../../etc"],
                       data_dir=data_dir)
    assert path.code == 2 and "browser_profile" in path.err
    source = run_tawthiq(["sources", "add", "x", "browser:http://127.0.0.1:9/", "--every", "1h",
                          "--browser-profile", "a/b"], data_dir=data_dir)
    assert source.code == 2 and "browser_profile" in source.err
