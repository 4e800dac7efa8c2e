"""The recording addon that tawthiq loads into `mitmdump` (`-s mitm_addon.py`): every exchange the
browser makes through the proxy is written to a spool folder, one file per exchange, which the
capture process (crawlers/browser/flows.py) turns into WARC records.

This file runs inside mitmproxy's own interpreter (its own virtualenv: see the Makefile), so it
imports nothing from tawthiq, only the standard library and mitmproxy.

What mitmproxy gives, and so what the spool holds (the README's "what is byte-exact" table):
  - request and response headers as received: names, values, order and repeats (HTTP/2 pseudo
    headers become the request line and a `Host` header);
  - bodies as they travelled, content-encoding (gzip, br) kept; chunked framing removed by
    mitmproxy, so the capture process frames the body again as one chunk;
  - HTTP/2 and HTTP/3 request and status lines rebuilt as HTTP/1.1 (the real version is in the spool's JSON, and so
    in `WARC-Protocol`).

Spool file `MILLISECONDS-NNNNNNNN.flow`: one line of JSON (url, method, versions, times, peer address, TLS, the
lengths of the two byte blocks, an error), then the request bytes, then the response bytes. It is
written as `.part` and renamed, so a reader never sees half a file.

Two things the proxy answers itself, never recorded: `GET http://tawthiq-proxy.invalid/<token>/status`
(how many exchanges are in flight and written: the capture waits for in-flight ones before it
drains the spool) from the capture process only (the token is secret), and, when the addon is
told to refuse private addresses, requests to loopback, private or link-local addresses of hosts
that are not the capture's seeds (answered 502 with a reason in `X-Tawthiq-Refused`, and spooled
as an error): the same rule as tawthiq's address policy (crawlers/address_policy.py), which this
process cannot import; addresses.py beside this file holds that rule (standard library only) and
is loaded by path. A refused HTTPS host is refused at its CONNECT (`http_connect`), before any
connection is made: mitmproxy's eager strategy opens the upstream connection only when this hook
set no response.

Spool files hold Cookie headers: they are written owner-only (umask 077).
"""

from __future__ import annotations

import importlib.util
import json
import os
import threading
import time
from typing import Any

from mitmproxy import ctx, http

CONTROL_HOST = "tawthiq-proxy.invalid"


def _load_addresses() -> Any:
    """addresses.py from this file's folder (this interpreter cannot import tawthiq)."""
    spec = importlib.util.spec_from_file_location("tawthiq_addresses", os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "addresses.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


addresses = _load_addresses()
os.umask(0o077)  # spool files (Cookie headers) and folders: the owner's only


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        # Names sort by time across runs: files a killed capture left behind come first.
        self._prefix = f"{int(time.time() * 1000):013d}"
        self._written = 0
        self._in_flight: set[str] = set()
        self._allow: set[str] = set()
        self._allow_stamp: int | None = None

    def load(self, loader: Any) -> None:
        loader.add_option("tawthiq_spool", str, "", "folder the exchanges are written to")
        loader.add_option("tawthiq_token", str, "", "secret path part of the control URL")
        loader.add_option("tawthiq_refuse_private", bool, True, "refuse loopback and private addresses")
        loader.add_option("tawthiq_allow_file", str, "", "file naming hosts allowed whatever their address "
                          "(the capture's seeds), one per line; read again when it changes")

    def _allowed(self) -> set[str]:
        path = ctx.options.tawthiq_allow_file
        try:
            stamp = os.stat(path).st_mtime_ns if path else None
        except OSError:
            stamp = None
        if stamp != self._allow_stamp:
            self._allow_stamp = stamp
            try:
                with open(path, encoding="utf-8") as names:
                    self._allow = {line.strip().lower() for line in names if line.strip()}
            except OSError:
                self._allow = set()
        return self._allow

    # -- control --------------------------------------------------------------------------------
    def _control(self, flow: http.HTTPFlow) -> bool:
        if flow.request.pretty_host != CONTROL_HOST:
            return False
        if flow.request.path != f"/{ctx.options.tawthiq_token}/status" or not ctx.options.tawthiq_token:
            flow.response = http.Response.make(404, b"", {"Content-Type": "text/plain"})
            return True
        with self._lock:
            body = json.dumps({"in_flight": len(self._in_flight), "written": self._written}).encode()
        flow.response = http.Response.make(200, body, {"Content-Type": "application/json"})
        return True

    def _refusal(self, host: str) -> str | None:
        if not ctx.options.tawthiq_refuse_private or host.lower() in self._allowed():
            return None
        reason: str | None = addresses.refused(host)
        return reason

    def http_connect(self, flow: http.HTTPFlow) -> None:
        """An HTTPS tunnel to a refused address is refused here, before it is opened."""
        reason = self._refusal(flow.request.host)
        if reason:
            flow.response = http.Response.make(502, reason.encode(), {"X-Tawthiq-Refused": reason})
            flow.metadata["tawthiq_refused"] = reason
            with self._lock:
                self._in_flight.add(flow.id)
            self._spool(flow, error=reason, url=f"https://{flow.request.host}:{flow.request.port}/")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            return
        with self._lock:
            self._in_flight.add(flow.id)
        reason = self._refusal(flow.request.host)
        if reason:
            flow.response = http.Response.make(502, reason.encode(), {"X-Tawthiq-Refused": reason})
            flow.metadata["tawthiq_refused"] = reason

    def request(self, flow: http.HTTPFlow) -> None:
        self._control(flow)

    # -- recording ------------------------------------------------------------------------------
    def response(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            return
        self._spool(flow, error=flow.metadata.get("tawthiq_refused"))

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.request.pretty_host == CONTROL_HOST:
            return
        self._spool(flow, error=flow.error.msg if flow.error else "the exchange failed")

    def _spool(self, flow: http.HTTPFlow, *, error: str | None, url: str | None = None) -> None:
        try:
            if flow.websocket is not None:
                error = error or "WebSocket messages are not recorded"
            raw_request = _request_bytes(flow.request)
            refused = flow.metadata.get("tawthiq_refused")
            raw_response = _response_bytes(flow.response) if flow.response is not None and not refused else b""
            server = flow.server_conn
            meta = {
                "url": url or flow.request.url, "method": flow.request.method,
                "request_version": flow.request.http_version,
                "response_version": flow.response.http_version if flow.response is not None else None,
                "started": flow.request.timestamp_start,
                "ended": (flow.response.timestamp_end if flow.response is not None else None),
                "ip": server.peername[0] if server.peername else None,
                "tls": server.tls_version if server.tls_established else None,
                "alpn": server.alpn.decode("ascii", "replace") if server.alpn else None,
                "chunked": flow.response is not None and _is_chunked(flow.response.headers),
                "error": error, "request_length": len(raw_request), "response_length": len(raw_response),
                "mitmproxy": _version(),
            }
            with self._lock:
                self._seq += 1
                seq = self._seq
            folder = ctx.options.tawthiq_spool
            name = f"{self._prefix}-{seq:08d}"
            part = os.path.join(folder, f"{name}.part")
            with open(part, "wb") as out:
                out.write(json.dumps(meta, ensure_ascii=True).encode("ascii") + b"\n")
                out.write(raw_request)
                out.write(raw_response)
            os.replace(part, os.path.join(folder, f"{name}.flow"))
            with self._lock:
                self._written += 1
        finally:
            with self._lock:
                self._in_flight.discard(flow.id)


def _version() -> str:
    from mitmproxy import version

    return version.VERSION


def _headers(fields: Any) -> bytes:
    return b"".join(name + b": " + value + b"\r\n" for name, value in fields)


def _request_bytes(request: http.Request) -> bytes:
    data = request.data
    target = data.path or b"/"
    head = data.method + b" " + target + b" " + _version_line(data.http_version) + b"\r\n"
    fields = list(request.headers.fields)
    if not any(name.lower() == b"host" for name, _ in fields) and data.authority:
        fields.insert(0, (b"Host", data.authority))
    return head + _headers(fields) + b"\r\n" + (request.raw_content or b"")


def _response_bytes(response: http.Response) -> bytes:
    reason = response.data.reason or b""
    head = _version_line(response.data.http_version) + b" %d" % response.status_code + (b" " + reason if reason else b"") + b"\r\n"
    return head + _headers(response.headers.fields) + b"\r\n" + (response.raw_content or b"")


def _version_line(version: bytes) -> bytes:
    """HTTP/1.0 and HTTP/1.1 as they were; HTTP/2 and HTTP/3 written as HTTP/1.1 (WARC-Protocol
    says what travelled)."""
    return version if version in (b"HTTP/1.0", b"HTTP/1.1") else b"HTTP/1.1"


def _is_chunked(headers: Any) -> bool:
    return any(name.lower() == b"transfer-encoding" and b"chunked" in value.lower() for name, value in headers.fields)


addons = [Recorder()]
