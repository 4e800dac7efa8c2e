"""Splitting raw HTTP bytes: everything stored as received, the payload de-chunked for its digest."""

from __future__ import annotations

from tawthiq.archivers.httpblock import dechunk, parse_request, parse_response, split_interim


def test_chunked_body_is_stored_as_received_with_trailers_and_payload_dechunked() -> None:
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
           b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    msg = parse_response(raw)
    assert msg.body == b"hello world"
    assert msg.dechunked and not msg.incomplete_chunking
    assert msg.to_bytes() == raw  # framing and the trailer kept, as wget and Heritrix store them
    assert msg.header("Set-Cookie") == "a=1" and msg.start_line == b"HTTP/1.1 200 OK"


def test_bare_lf_head_is_kept_as_sent() -> None:
    raw = b"HTTP/1.1 200 OK\nContent-Type: text/plain\nContent-Length: 5\n\nhello"
    msg = parse_response(raw)
    assert msg.to_bytes() == raw and msg.body == b"hello" and msg.content_type == "text/plain"


def test_gzip_then_chunked_removes_only_the_chunking() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\n\x1f\x8b\x08\r\n0\r\n\r\n"
    msg = parse_response(raw)
    assert msg.body == b"\x1f\x8b\x08" and msg.to_bytes() == raw


def test_interim_responses_are_split_off() -> None:
    hints = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
    cont = b"HTTP/1.1 100 Continue\r\n\r\n"
    final = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    assert split_interim(hints + cont + final) == ([hints, cont], final)
    assert split_interim(hints) == ([], hints)  # nothing after it: it stays the (cut-off) response
    switching = b"HTTP/1.1 101 Switching Protocols\r\n\r\nxx"
    assert split_interim(switching) == ([], switching)


def test_unchunked_response_is_untouched() -> None:
    raw = b"HTTP/1.0 203 Odd Reason\r\nX-A:  spaced \r\nContent-Length: 3\r\n\r\nabc"
    msg = parse_response(raw)
    assert msg.to_bytes() == raw
    assert msg.status == 203 and msg.protocol == "HTTP/1.0"


def test_cut_off_chunked_body_keeps_what_arrived() -> None:
    body, complete = dechunk(b"5\r\nhello\r\n10\r\nonly-part")
    assert body == b"helloonly-part" and not complete


def test_head_only_response_has_no_body() -> None:
    msg = parse_response(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n", head_only=True)
    assert msg.body == b"" and msg.status == 304


def test_request_keeps_query_and_body() -> None:
    msg = parse_request(b"POST /a?b=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi")
    assert msg.start_line == b"POST /a?b=1 HTTP/1.1" and msg.body == b"hi"


def _one_record_file(tmp_path, raw_response: bytes, *, payload_digest: str | None = None):  # type: ignore[no-untyped-def]
    from tawthiq.archivers import records as rec
    from tawthiq.archivers.writer import WarcWriter

    msg = parse_response(raw_response)
    pending = rec.response("http://x.test/", msg, date=rec.warc_date(), ip=None, record_id=rec.new_record_id(),
                           payload_digest=payload_digest)
    writer = WarcWriter(tmp_path)
    writer.write([pending])
    writer.close()
    (path,) = tmp_path.glob("*.warc.gz")
    return path


def test_verifier_checks_a_chunked_payload_over_the_entity(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A chunked record stored as received verifies; one whose payload digest was computed over
    the framing (or over other bytes), with the block digest recomputed to match, does not."""
    from tawthiq.archivers.digests import warc_digest
    from tawthiq.archivers.integrity import check_members

    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
    good = _one_record_file(tmp_path / "good", raw)
    with open(good, "rb") as fh:
        assert [c.problems for c in check_members(fh) if c.headers.get("WARC-Type") == "response"] == [[]]
    forged = _one_record_file(tmp_path / "forged", raw, payload_digest=warc_digest(b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"))
    with open(forged, "rb") as fh:
        problems = [c.problems for c in check_members(fh) if c.headers.get("WARC-Type") == "response"]
    assert problems == [["payload digest mismatch: the record was altered"]]
