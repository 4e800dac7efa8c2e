"""Target address policy (issue 13, finding 10): a public feed cannot make the crawler fetch an
internal service. Only loopback addresses are ever contacted here: 10.x, 169.254.169.254 and
the other non-loopback kinds are checked on the policy itself, never by a crawl."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from tawthiq.crawlers import address_policy as policy
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import all_blocks, run_tawthiq


def _failures(data_dir: Path) -> dict[str, str]:
    return {json.loads(b)["url"]: json.loads(b)["error"]
            for h, b in all_blocks(data_dir) if h.get("WARC-Tawthiq-Kind") == "failure"}


def _targets(data_dir: Path) -> set[str]:
    return {h["WARC-Target-URI"] for h, _ in all_blocks(data_dir) if h["WARC-Type"] == "response"}


def _feed(server: LocalServer, links: list[str]) -> None:
    items = "".join(f"<item><title>item {i}</title><link>{link}</link><guid>g-{i}</guid>"
                    f"<description>d</description></item>" for i, link in enumerate(links))
    server.routes["/feed.xml"] = Resource(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>public feed</title>'
        f'<link>{server.url("/")}</link><description>d</description>{items}</channel></rss>'.encode(),
        content_type="application/rss+xml")


def test_feed_items_and_redirects_to_internal_addresses_are_refused_and_listed(server: LocalServer,
                                                                             data_dir: Path) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    internal = [f"http://127.0.0.2:{port}/admin", f"http://[::1]:{port}/metadata",
                f"http://2130706434:{port}/decimal", f"http://[::ffff:127.0.0.3]:{port}/mapped"]
    server.routes["/public.html"] = Resource(b"<html><body>fine</body></html>")
    server.routes["/go"] = Resource(b"", status=302, headers=[("Location", f"http://127.0.0.2:{port}/redirected")])
    _feed(server, [server.url("/public.html"), server.url("/go"), *internal])
    result = run_tawthiq(["capture", f"feed:{server.url('/feed.xml')}"], data_dir=data_dir)
    assert "Traceback" not in result.out + result.err
    failures = _failures(data_dir)
    for url in [*internal, f"http://127.0.0.2:{port}/redirected"]:
        assert url in failures, (url, failures, result.out)
        assert "refused:" in failures[url] and "allow_private_targets" in failures[url]
    assert "loopback address" in failures[internal[0]]
    assert "refused:" in result.out  # listed for the person who ran it
    # The seed's own host is allowed: the feed, the item page and the redirect itself are archived.
    assert {server.url("/feed.xml"), server.url("/public.html"), server.url("/go")} <= _targets(data_dir)
    assert not any("127.0.0.2" in t or "[::1]" in t for t in _targets(data_dir))
    assert [p for p in server.requests if p.path in ("/admin", "/metadata", "/redirected")] == []


def test_the_setting_opens_private_targets(server: LocalServer, data_dir: Path) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    _feed(server, [f"http://127.0.0.2:{port}/admin"])
    result = run_tawthiq(["capture", f"feed:{server.url('/feed.xml')}"], data_dir=data_dir,
                         env={"TAWTHIQ_ALLOW_PRIVATE_TARGETS": "true"})
    assert "Traceback" not in result.out + result.err
    assert not any("refused:" in e for e in _failures(data_dir).values())


@pytest.mark.parametrize("address, kind", [
    ("10.1.2.3", "private"), ("192.168.0.1", "private"), ("172.16.5.4", "private"),
    ("169.254.169.254", "link-local"), ("127.0.0.2", "loopback"), ("::1", "loopback"),
    ("fe80::1", "link-local"), ("fd00::1", "private"), ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"), ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("100.64.0.1", "not globally routable"),
])
def test_non_public_address_kinds(address: str, kind: str) -> None:
    assert policy.why_not_public(ipaddress.ip_address(address)) == kind
    reason = policy.refusal(address)
    assert reason is not None and f"a {kind} address" in reason


@pytest.mark.parametrize("host", ["0x7f.1", "2130706433", "127.1", "localhost"])
def test_other_spellings_of_loopback_are_refused(host: str) -> None:
    assert policy.refusal(host) is not None, host


def test_public_addresses_pass() -> None:
    for address in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"):
        assert policy.refusal(address) is None


def _listening_sockets(pid: int) -> list[str]:
    """The TCP sockets in LISTEN state that process `pid` holds open (from /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.append(f"{table} {fields[1]}")
    return listening


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_a_running_capture_listens_on_no_socket(server: LocalServer, data_dir: Path) -> None:
    """Scrapy's telnet console and RemoteControl run code sent to them: neither may listen."""
    import signal

    from tests.conftest import start_endless_capture

    proc = start_endless_capture(server, data_dir, min_bytes=20_000)
    try:
        assert proc.poll() is None, "the capture ended before it could be inspected"
        children = [int(p) for p in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
        for pid in [proc.pid, *children]:
            assert _listening_sockets(pid) == [], pid
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)


def test_network_extensions_are_off_in_the_capture_settings() -> None:
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.utils.conf import build_component_list

    from tawthiq.crawlers.settings import scrapy_settings

    settings = ScrapySettings(scrapy_settings(sink_key="k", user_agent="ua", max_response_size=0))
    enabled = build_component_list(settings.getwithbase("EXTENSIONS"))
    names = [e if isinstance(e, str) else f"{e.__module__}.{e.__qualname__}" for e in enabled]
    for off in ("telnet.TelnetConsole", "remote_control.RemoteControl", "feedexport.FeedExporter"):
        assert not any(n.endswith(off) for n in names), names
    assert not settings.getbool("TELNETCONSOLE_ENABLED") and not settings.getbool("REMOTE_CONTROL_ENABLED")


def test_ytdlp_fetches_follow_the_same_policy(server: LocalServer, data_dir: Path) -> None:
    """yt-dlp has its own HTTP stack: a page (the seed) whose video lives on another loopback address."""
    port = server.base_url.rsplit(":", 1)[1]
    hidden = f"http://127.0.0.2:{port}/internal.mp4"
    server.routes["/watch.html"] = Resource(
        f'<!DOCTYPE html><html><head><title>v</title></head><body><video src="{hidden}"></video></body></html>'.encode())
    result = run_tawthiq(["capture", f"video:{server.url('/watch.html')}"], data_dir=data_dir)
    assert "Traceback" not in result.out + result.err
    assert result.code == 1 and "refused: 127.0.0.2 is a loopback address" in result.out, result.out
    assert [p for p in server.requests if p.path == "/internal.mp4"] == []
    assert server.url("/watch.html") in _targets(data_dir)  # the seed page itself was fetched


def test_the_resolver_refuses_at_connect_time() -> None:
    """A name answered with a loopback address is refused by the resolver Scrapy connects with
    (what catches a name that resolved to a public address for the check: DNS rebinding)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = """
from twisted.internet import reactor
from tawthiq.crawlers.address_policy import GuardedResolver, allow_seed
out = []
def done(_=None):
    print("|".join(out)); reactor.stop()
def ask(name, then):
    d = GuardedResolver(reactor, 100, 5).getHostByName(name)
    d.addCallbacks(lambda a: out.append(name + "=" + a), lambda f: out.append(name + "!" + f.getErrorMessage()))
    d.addBoth(lambda _: then())
def second():
    allow_seed("localhost")
    ask("localhost", done)
reactor.callWhenRunning(ask, "localhost", second)
reactor.run()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    first, second = proc.stdout.strip().split("|")
    assert first.startswith("localhost!") and "refused: localhost" in first and "loopback" in first
    assert second.startswith("localhost=127.") or second.startswith("localhost=::1")  # once it is a seed
