"""Splitting raw HTTP bytes: headers kept byte for byte, chunking removed and declared."""

from __future__ import annotations

from archivers.httpblock import dechunk, parse_request, parse_response


def test_chunked_body_is_dechunked_and_headers_rewritten_consistently() -> None:
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n"
           b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
    msg = parse_response(raw)
    assert msg.body == b"hello world"
    assert msg.dechunked and not msg.incomplete_chunking
    assert msg.header_lines == [b"X-Tawthiq-Orig-Transfer-Encoding: chunked", b"Set-Cookie: a=1",
                                b"Set-Cookie: b=2", b"Content-Length: 11"]
    assert msg.start_line == b"HTTP/1.1 200 OK"


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
