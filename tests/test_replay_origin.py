"""Where the replay view may run, and who may open it (no browser needed; the browser side is
tests/test_browser_replay.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tawthiq.settings import load_settings
from tawthiq.web.replay import Tickets, embeddable, replay_origin, site_of
from tests.conftest import run_tawthiq
from tests.ports import free_port


def test_sites_as_browsers_reckon_them() -> None:
    assert site_of("app.example.org") == site_of("replay.example.org") == "example.org"
    assert site_of("a.example.co.uk") == "example.co.uk" != site_of("b.other.co.uk")
    assert site_of("127.0.0.1") == site_of("localhost") == site_of("::1") == ""
    assert embeddable("app.example.org", "replay.example.org")
    assert not embeddable("127.0.0.1", "localhost")  # two sites: a framed worker would be refused
    assert not embeddable("app.example.org", "app.example.org")  # one host: the app's own cookies
    assert not embeddable("example.co.uk", "evil.co.uk")


def test_the_default_replay_origin_is_another_host_name(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert replay_origin(settings, "127.0.0.1", 8080) == "http://localhost:8081"
    assert replay_origin(settings, "0.0.0.0", 8080) == ""  # a LAN app: no name is guessed
    chosen = load_settings(tmp_path, replay_origin="https://replay.example.org/")
    assert replay_origin(chosen, "0.0.0.0", 8080) == "https://replay.example.org"


def test_a_ticket_opens_one_post_until_it_expires() -> None:
    tickets = Tickets(b"k" * 32, lifetime=60)
    ticket = tickets.make("browser", "http://127.0.0.1/a")
    assert tickets.check("browser", "http://127.0.0.1/a", ticket)
    assert not tickets.check("browser", "http://127.0.0.1/b", ticket)  # another post
    assert not tickets.check("browser", "http://127.0.0.1/a", ticket[:-1] + "0")
    expires, _, mac = ticket.partition(".")
    assert not tickets.check("browser", "http://127.0.0.1/a", f"{int(expires) + 999}.{mac}")  # lengthened
    assert not Tickets(b"other" * 8, 60).check("browser", "http://127.0.0.1/a", ticket)
    stale = Tickets(b"k" * 32, lifetime=-1)
    assert not stale.check("browser", "x", stale.make("browser", "x"))


@pytest.mark.parametrize("origin, reason", [
    ("http://127.0.0.1:{other}", "host name"),  # cookies are not kept apart by port
    ("http://localhost:{port}", "port"),
])
def test_serve_refuses_a_replay_origin_that_shares_the_apps_cookies_or_port(
        tmp_path: Path, origin: str, reason: str) -> None:
    port = free_port()
    result = run_tawthiq(["serve", "--port", str(port)], data_dir=tmp_path / "data", timeout=60,
                         env={"TAWTHIQ_REPLAY_ORIGIN": origin.format(port=port, other=free_port())})
    assert result.code == 2, result.out + result.err
    assert reason in " ".join(result.err.split())  # one error line (wrapped by the console), nothing served


def test_a_taken_default_replay_port_leaves_the_app_running_without_replay(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import ROOT
    from tests.ports import wait_for_port

    blocker = socket.socket()
    for _ in range(20):  # a port whose neighbour above can be held for the test
        port = free_port()
        try:
            blocker.bind(("127.0.0.1", port + 1))
            break
        except OSError:
            continue
    blocker.listen()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAWTHIQ_")}
    env["TAWTHIQ_WEB_LOG"] = "warning"
    proc = subprocess.Popen([sys.executable, "-m", "tawthiq.cli", "serve", "--port", str(port), "--data-dir",
                             str(tmp_path / "data")], cwd=ROOT, env={**env, "COLUMNS": "300"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for_port(port), "the app did not start"
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/search", timeout=30).status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        blocker.close()
    assert f"port {port + 1}" in err and "is taken" in err, err
