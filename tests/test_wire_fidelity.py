"""The archive holds each HTTP exchange exactly as it crossed the wire.

These are the points where Scrapy-to-WARC middleware packages were seen to fail: an invented
status line, a lost second Set-Cookie, a request line without its query string, no Host
header, no IP address, mixed WARC versions, gzip decoded. Chunk framing is kept as received
(as wget and Heritrix store it), with the payload digest over the de-chunked body.
"""

from __future__ import annotations

import gzip
import re
import subprocess
import sys

import pytest

from tawthiq.archivers.digests import warc_digest
from tawthiq.archivers.httpblock import dechunk
from tawthiq.archivers.integrity import check_members
from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import all_blocks, run_tawthiq, warc_files

ARABIC_1256 = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1256">'
               "<title>نشرة</title></head><body><p>قصف على بلدة المثال</p></body></html>")


@pytest.fixture
def wire_site(server: LocalServer) -> LocalServer:
    page = b"<html><body>" + b"<p>evidence line</p>" * 400 + b'<img src="/img.png"></body></html>'
    server.routes.update({
        "/gz-chunked": Resource(page, gzip=True, chunked=True, chunk_size=257, reason="Fine",
                                headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/"),
                                         ("X-Custom", "one"), ("x-custom", "two")]),
        "/img.png": Resource(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, content_type="image/png"),
        "/hop1": Resource(b"", status=302, headers=[("Location", "/hop2")]),
        "/hop2": Resource(b"moved", status=301, content_type="text/plain", headers=[("Location", "/final")]),
        "/final": Resource(b"<html><body>final page</body></html>"),
        "/ar-1256": Resource(ARABIC_1256.encode("cp1256"), content_type="text/html; charset=windows-1256"),
        "/big": Resource(b"B" * 60_000, content_type="application/octet-stream"),
    })
    return server


def _capture(site: LocalServer, data_dir, *urls: str, env=None):  # type: ignore[no-untyped-def]
    return run_tawthiq(["capture", *[site.url(u) for u in urls]], data_dir=data_dir, env=env)


def _responses(data_dir):  # type: ignore[no-untyped-def]
    blocks = all_blocks(data_dir)
    by_id = {h["WARC-Record-ID"]: (h, b) for h, b in blocks}
    return blocks, by_id


def test_gzip_chunked_cookies_query_are_kept_exactly(wire_site: LocalServer, data_dir) -> None:
    result = _capture(wire_site, data_dir, "/gz-chunked?q=%D8%AD%D9%84%D8%A8&page=2")
    assert result.code == 0, result.out + result.err
    blocks, by_id = _responses(data_dir)
    uri = wire_site.url("/gz-chunked?q=%D8%AD%D9%84%D8%A8&page=2")
    (resp_h, resp_block), = [(h, b) for h, b in blocks if h.get("WARC-Type") == "response"
                             and h["WARC-Target-URI"] == uri]
    head, _, payload = resp_block.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    # The real status line, including a non-standard reason phrase.
    assert lines[0] == b"HTTP/1.1 200 Fine"
    # Both Set-Cookie headers and both spellings of a repeated header survive, in order.
    assert [ln for ln in lines if ln.lower().startswith(b"set-cookie")] == [
        b"Set-Cookie: a=1; Path=/", b"Set-Cookie: b=2; Path=/"]
    assert [ln for ln in lines if ln.lower().startswith(b"x-custom")] == [b"X-Custom: one", b"x-custom: two"]
    # Chunk framing kept as received; the payload digest is over the de-chunked body.
    assert b"Transfer-Encoding: chunked" in lines and not any(ln.lower().startswith(b"content-length") for ln in lines)
    entity, complete = dechunk(payload)
    assert complete and payload != entity
    # Content coding kept: the entity is the gzip the server sent, byte for byte.
    assert b"Content-Encoding: gzip" in lines
    assert entity == wire_site.served["/gz-chunked?q=%D8%AD%D9%84%D8%A8&page=2"]
    assert gzip.decompress(entity).startswith(b"<html><body><p>evidence line</p>")
    assert resp_h["WARC-IP-Address"] == "127.0.0.1"
    assert resp_h["WARC-Payload-Digest"] == warc_digest(entity)

    # The request as sent: full request line with the query, Host, linked to its response.
    (req_h, req_block), = [(h, b) for h, b in blocks if h.get("WARC-Type") == "request"
                           and h["WARC-Target-URI"] == uri]
    req_lines = req_block.split(b"\r\n")
    assert req_lines[0] == b"GET /gz-chunked?q=%D8%AD%D9%84%D8%A8&page=2 HTTP/1.1"
    assert any(ln.lower() == f"host: {wire_site.url('')[7:]}".encode().lower() for ln in req_lines)
    assert any(ln.lower().startswith(b"accept-encoding:") for ln in req_lines)
    assert req_h["WARC-Concurrent-To"] == resp_h["WARC-Record-ID"]
    assert req_h["WARC-IP-Address"] == "127.0.0.1"
    # The embedded image was captured too, identical to what was served.
    (img_h, img_block), = [(h, b) for h, b in blocks if h.get("WARC-Type") == "response"
                           and h["WARC-Target-URI"] == wire_site.url("/img.png")]
    assert img_block.partition(b"\r\n\r\n")[2] == wire_site.served["/img.png"]


def test_every_file_is_warc_1_1_and_passes_warcio_check(wire_site: LocalServer, data_dir) -> None:
    """warcio check passes every record but chunked responses: it hashes their framing too
    (warcio issue #74), against WARC 1.1; the project's verifier checks those, and all others."""
    result = _capture(wire_site, data_dir, "/gz-chunked", "/hop1", "/ar-1256")
    assert result.code == 0, result.out + result.err
    files = warc_files(data_dir)
    assert files and not list((data_dir / "warcs").glob("*.open"))
    chunked = {h["WARC-Record-ID"] for h, b in all_blocks(data_dir)
               if h["WARC-Type"] == "response" and b"Transfer-Encoding: chunked" in b.partition(b"\r\n\r\n")[0]}
    assert chunked
    for path in files:
        check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", "-v", str(path)],
                               capture_output=True, text=True)
        failed = set(re.findall(r"WARC-Record-ID (<[^>]+>) \w+\n\s+payload digest failed", check.stdout))
        assert failed <= chunked, check.stdout + check.stderr
        assert "digest pass" in check.stdout
        with open(path, "rb") as fh:
            assert all(not c.problems for c in check_members(fh))
        raw = gzip.decompress(path.read_bytes())
        assert raw.count(b"WARC/1.1\r\n") == len(all_blocks(data_dir)) and b"WARC/1.0" not in raw


def test_requests_and_responses_pair_up(wire_site: LocalServer, data_dir) -> None:
    _capture(wire_site, data_dir, "/gz-chunked", "/hop1")
    blocks = all_blocks(data_dir)
    responses = {h["WARC-Record-ID"]: h for h, _ in blocks if h["WARC-Type"] in ("response", "revisit")}
    requests = [h for h, _ in blocks if h["WARC-Type"] == "request"]
    assert len(requests) == len(responses) >= 5
    for req in requests:
        resp = responses[req["WARC-Concurrent-To"]]
        assert resp["WARC-Target-URI"] == req["WARC-Target-URI"]
        assert resp["WARC-Date"] == req["WARC-Date"]


def test_redirect_hops_are_each_recorded(wire_site: LocalServer, data_dir) -> None:
    _capture(wire_site, data_dir, "/hop1")
    blocks = all_blocks(data_dir)
    statuses = {h["WARC-Target-URI"]: b.split(b"\r\n", 1)[0] for h, b in blocks if h["WARC-Type"] == "response"}
    assert statuses[wire_site.url("/hop1")] == b"HTTP/1.1 302 Found"
    assert statuses[wire_site.url("/hop2")] == b"HTTP/1.1 301 Moved Permanently"
    assert statuses[wire_site.url("/final")] == b"HTTP/1.1 200 OK"
    hop2 = [b for h, b in blocks if h["WARC-Type"] == "response" and h["WARC-Target-URI"] == wire_site.url("/hop2")]
    assert hop2[0].endswith(b"\r\n\r\nmoved")


def test_windows_1256_page_is_stored_undecoded(wire_site: LocalServer, data_dir) -> None:
    _capture(wire_site, data_dir, "/ar-1256")
    blocks = all_blocks(data_dir)
    (block,) = [b for h, b in blocks if h["WARC-Type"] == "response"]
    payload = block.partition(b"\r\n\r\n")[2]
    assert payload == ARABIC_1256.encode("cp1256")
    assert payload.decode("cp1256") == ARABIC_1256
    assert b"charset=windows-1256" in block.partition(b"\r\n\r\n")[0]


def test_oversized_response_is_stored_truncated_not_dropped(wire_site: LocalServer, data_dir) -> None:
    result = _capture(wire_site, data_dir, "/big", env={"TAWTHIQ_MAX_RESPONSE_SIZE": "5000"})
    blocks = all_blocks(data_dir)
    (resp_h, block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "response"]
    assert resp_h["WARC-Truncated"] == "length"
    payload = block.partition(b"\r\n\r\n")[2]
    assert 0 < len(payload) < 5000 and wire_site.served["/big"].startswith(payload)
    assert b"Content-Length: 60000" in block  # the original headers still tell the full size
    failures = [b for h, b in blocks if h["WARC-Type"] == "metadata" and b'"failure"' in b]
    assert any(b"truncated" in f for f in failures)
    assert "truncated" in result.out and result.code == 1  # reported as not fully captured


def test_identical_payload_becomes_a_revisit(wire_site: LocalServer, data_dir) -> None:
    wire_site.routes["/copy"] = wire_site.routes["/img.png"]
    _capture(wire_site, data_dir, "/img.png")
    _capture(wire_site, data_dir, "/copy")
    blocks = all_blocks(data_dir)
    (orig_h, _), = [(h, b) for h, b in blocks if h["WARC-Type"] == "response"
                    and h["WARC-Target-URI"] == wire_site.url("/img.png")]
    (rev_h, rev_block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "revisit"]
    assert rev_h["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert rev_h["WARC-Refers-To"] == orig_h["WARC-Record-ID"]
    assert rev_h["WARC-Refers-To-Target-URI"] == wire_site.url("/img.png")
    assert rev_h["WARC-Refers-To-Date"] == orig_h["WARC-Date"]
    assert rev_h["WARC-Payload-Digest"] == orig_h["WARC-Payload-Digest"]
    assert rev_block.endswith(b"\r\n\r\n")  # headers only: the bytes are stored once


@pytest.mark.skipif(__import__("shutil").which("openssl") is None, reason="openssl CLI not installed")
def test_https_exchanges_are_recorded_in_the_clear_with_the_peer_ip(tmp_path, data_dir) -> None:  # type: ignore[no-untyped-def]
    import ssl

    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    with LocalServer() as tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        tls.httpd.socket = context.wrap_socket(tls.httpd.socket, server_side=True)
        tls.routes["/secure"] = Resource(b"<html><body>over TLS</body></html>", gzip=True, chunked=True,
                                         headers=[("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")])
        url = tls.base_url.replace("http://", "https://") + "/secure?x=1"
        result = run_tawthiq(["capture", url], data_dir=data_dir)
        assert result.code == 0, result.out + result.err
        blocks = all_blocks(data_dir)
        (resp_h, block), = [(h, b) for h, b in blocks if h["WARC-Type"] == "response"]
        assert resp_h["WARC-Target-URI"] == url and resp_h["WARC-IP-Address"] == "127.0.0.1"
        head, _, payload = block.partition(b"\r\n\r\n")
        assert head.count(b"Set-Cookie:") == 2 and dechunk(payload) == (tls.served["/secure?x=1"], True)
        (req,) = [b for h, b in blocks if h["WARC-Type"] == "request"]
        assert req.startswith(b"GET /secure?x=1 HTTP/1.1\r\n")
