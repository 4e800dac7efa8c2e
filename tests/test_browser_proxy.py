"""The browser's recording proxy and its spool (issue 15 review): what it refuses, how a cut-off
response is archived, and that no exchange in the spool is lost or poisons later pages.

The proxy tests drive the real `mitmdump` (skipped without it) with plain HTTP clients, no browser:
a raw-socket server that cuts a chunked body, a listener that must never see a connection from a
refused CONNECT. The spool tests write spool files as the addon does and archive them into a
real WARC, read back with warcio.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import socket
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tawthiq.archivers.archiver import Archiver
from tawthiq.archivers.exchange import Exchange, build_records, unparsed_records
from tawthiq.archivers.writer import WarcWriter
from tawthiq.crawlers import address_policy
from tawthiq.crawlers.browser import addresses
from tawthiq.crawlers.browser.flows import finished
from tawthiq.crawlers.browser.proxy import ProxyError, RecordingProxy, find_mitmdump
from tawthiq.crawlers.fetchers.browser import BrowserFetcher

CHECKED = [
    "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "100.127.255.254", "192.0.0.8", "0.0.0.0", "224.0.0.1", "240.0.0.1",
    "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:127.0.0.1",
    "::ffff:8.8.8.8", "2002:7f00:1::", "2002:0808:0808::", "64:ff9b::7f00:1", "64:ff9b::808:808",
    "64:ff9b::a00:5", "198.18.0.1", "203.0.113.9", "2001:db8::1", "ff02::1",
]


def test_the_addon_refuses_exactly_what_the_address_policy_refuses() -> None:
    for text in CHECKED:
        ip = ipaddress.ip_address(text)
        assert addresses.why_not_public(ip) == address_policy.why_not_public(ip), text
    assert addresses.refused("100.64.0.1") is not None  # CGNAT: not private, not global either
    assert addresses.refused("2002:7f00:1::") is not None  # 6to4 of 127.0.0.1
    assert addresses.refused("64:ff9b::a00:5") is not None  # NAT64 of 10.0.0.5
    assert addresses.refused("127.1") is not None  # the short form libc and browsers accept
    assert addresses.refused("8.8.8.8") is None


# -- the real proxy -------------------------------------------------------------------------------

@pytest.fixture
def proxy_factory(tmp_path: Path) -> Iterator[Any]:
    try:
        find_mitmdump()
    except ProxyError as exc:
        pytest.skip(f"needs mitmproxy's mitmdump: {exc}")
    started: list[RecordingProxy] = []

    def make(refuse_private: bool, max_body: str = "512m") -> RecordingProxy:
        proxy = RecordingProxy(tmp_path / "browser", refuse_private=refuse_private, max_body=max_body)
        proxy.start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.stop()


class RawServer:
    """A socket server on 127.0.0.1 that answers each connection with fixed bytes, then closes;
    it counts the connections it got."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.connections = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = int(self.sock.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)
                    conn.sendall(self.answer)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _through(proxy: RecordingProxy, url: str) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy.address}))
    try:
        opener.open(url, timeout=10).read()
    except (urllib.error.URLError, http.client.HTTPException, OSError):
        pass  # the client's view does not matter: the spool's does


def _flows(proxy: RecordingProxy) -> list[Any]:
    assert proxy.settle(10)
    return proxy.collect()


def test_a_chunked_response_cut_off_mid_body_is_archived_truncated(proxy_factory: Any) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n")  # and the connection closes: no terminating chunk
    try:
        proxy = proxy_factory(refuse_private=False)
        _through(proxy, f"http://127.0.0.1:{server.port}/cut")
        (flow,) = [f for f in _flows(proxy) if f.url.endswith("/cut")]
    finally:
        server.close()
    assert flow.error
    records = build_records(flow.exchange(), None)
    assert records.response.record.rec_headers.get_header("WARC-Truncated") == "disconnect"
    assert not records.response.record.raw_stream.read().endswith(b"0\r\n\r\n")


def test_a_refused_https_host_is_refused_at_connect_before_any_connection(proxy_factory: Any) -> None:
    listener = RawServer(b"")
    try:
        proxy = proxy_factory(refuse_private=True)
        tunnel = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
        tunnel.set_tunnel("localhost", listener.port)
        with pytest.raises(OSError, match="502"):
            tunnel.request("GET", "/x")
        tunnel.close()
        flows = _flows(proxy)
    finally:
        listener.close()
    assert listener.connections == 0
    (flow,) = flows
    assert flow.url == f"https://localhost:{listener.port}/"
    assert "loopback" in (flow.error or "")
    assert not flow.raw_response  # a failure record, never a response


def test_a_cgnat_address_is_refused_without_being_fetched(proxy_factory: Any) -> None:
    proxy = proxy_factory(refuse_private=True)
    _through(proxy, "http://100.64.0.1/z")
    (flow,) = _flows(proxy)
    assert "not globally routable" in (flow.error or "")
    assert flow.meta.get("ip") is None  # no connection was made


def test_a_body_over_browser_max_body_is_a_failure_not_held_in_memory(proxy_factory: Any) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n\r\n" + b"x" * 65536)
    try:
        proxy = proxy_factory(refuse_private=False, max_body="4k")
        _through(proxy, f"http://127.0.0.1:{server.port}/big")
        (flow,) = _flows(proxy)
    finally:
        server.close()
    assert flow.error and "body" in flow.error.lower()
    assert b"x" * 8192 not in flow.raw_response


def test_the_spool_is_readable_by_its_owner_only(proxy_factory: Any) -> None:
    server = RawServer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    try:
        proxy = proxy_factory(refuse_private=False)
        _through(proxy, f"http://127.0.0.1:{server.port}/ok")
        (flow,) = _flows(proxy)
    finally:
        server.close()
    for folder in (proxy.folder, proxy.work, proxy.spool):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE(flow.path.stat().st_mode) == 0o600


# -- the spool, archived ---------------------------------------------------------------------------

def _spool_file(spool: Path, name: str, url: str, response: bytes) -> Path:
    request = f"GET {url} HTTP/1.1\r\nHost: example.org\r\n\r\n".encode()
    meta = {"url": url, "method": "GET", "request_length": len(request), "response_length": len(response),
            "started": 1_700_000_000.0, "error": None, "chunked": False}
    spool.mkdir(parents=True, exist_ok=True)
    path = spool / f"{name}.flow"
    path.write_bytes(json.dumps(meta).encode() + b"\n" + request + response)
    return path


class Context:
    """The parts of the capture session's FetchContext `_archive_flows` uses, over a real WARC
    writer; `fail_on` makes writing that URL fail as a full disk would."""

    def __init__(self, folder: Path, fail_on: str = "") -> None:
        self.writer = WarcWriter(folder)
        self.archiver = Archiver(self.writer)
        self.failures: list[tuple[str, str]] = []
        self.fail_on = fail_on
        self.flushed_before: list[bool] = []
        self.settings = None

    def exchange(self, exchange: Exchange) -> Any:
        if exchange.uri == self.fail_on:
            raise OSError(28, "No space left on device")
        return self.archiver.exchange(exchange)

    def keep_unparsed(self, exchange: Exchange, reason: str) -> None:
        records = unparsed_records(exchange)
        self.writer.write(records)
        self.failures.append((exchange.uri, reason))

    def flush(self) -> None:
        self.writer.flush()

    def failed(self, url: str, error: str, **_: Any) -> None:
        self.failures.append((url, error))

    def fetched_media(self, *_: Any, **__: Any) -> None:
        pass


def _records(folder: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(folder.glob("*.warc.gz*")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh):
                out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI")))
    return out


def test_spooled_exchanges_are_on_disk_before_the_spool_goes_and_a_bad_one_poisons_nothing(tmp_path: Path) -> None:
    spool = tmp_path / "browser" / "proc-1" / "spool"
    _spool_file(spool, "1-1", "http://example.org/page", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    _spool_file(spool, "1-2", "http://example.org/garbage", b"\x00\x01 not HTTP at all")
    _spool_file(spool, "1-3", "http://example.org/disk-full", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
    warcs = tmp_path / "warcs"
    context = Context(warcs, fail_on="http://example.org/disk-full")
    BrowserFetcher()._archive_flows(finished(spool), context, post_url=None, withhold=True)  # type: ignore[arg-type]
    # Nothing left to be read again by the next page: archived, kept raw, or moved aside.
    assert list(spool.glob("*.flow")) == []
    assert (tmp_path / "browser" / "quarantine" / "1-3.flow").is_file()
    # Read back from the still-open WARC file: the flush put every record on disk.
    records = _records(warcs)
    assert ("response", "http://example.org/page") in records
    assert any(kind == "resource" and (uri or "").startswith("urn:tawthiq:unparsed:") for kind, uri in records)
    assert [url for url, _ in context.failures] == ["http://example.org/garbage", "http://example.org/disk-full"]
    assert "quarantine" in context.failures[1][1]
    context.writer.close()


def test_nested_orphans_are_flattened_into_the_adopters_spool(tmp_path: Path) -> None:
    folder = tmp_path / "browser"
    dead = folder / "proc-99999998"  # a capture that died after adopting one that had died too
    _spool_file(dead / "spool", "2-1", "http://example.org/a", b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na")
    _spool_file(dead / "adopted-proc-99999997" / "spool", "3-1", "http://example.org/b",
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb")
    _spool_file(dead / "adopted-proc-99999997" / "adopted-proc-99999996" / "spool", "4-1", "http://example.org/c",
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc")
    proxy = RecordingProxy(folder)
    proxy.work.mkdir(parents=True)
    flows = proxy.orphans()
    assert sorted(f.url for f in flows) == ["http://example.org/a", "http://example.org/b", "http://example.org/c"]
    proxy.forget_orphans()  # they are not archived yet: nothing may go
    assert sorted(p.name for p in proxy.work.rglob("*.flow")) == ["2-1.flow", "3-1.flow", "4-1.flow"]
    for flow in flows:
        flow.discard()
    proxy.forget_orphans()
    assert list(proxy.work.glob("adopted-*")) == []
    assert not os.path.exists(dead)
