"""A small threaded HTTP/1.1 server on 127.0.0.1 for the demo and the tests.

Routes return `Resource`s; a resource can be sent gzip-encoded, with chunked transfer coding,
with repeated headers, so tests can check that the archive holds exactly what was sent.
Every body actually sent (after content coding, before transfer coding) is remembered in
`served`, which is what a faithful archive must reproduce.
"""

from __future__ import annotations

import gzip as gziplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Resource:
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    status: int = 200
    reason: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    gzip: bool = False
    chunked: bool = False
    chunk_size: int = 1000


@dataclass
class Incoming:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_path: str


Route = Resource | Callable[[Incoming], Resource]


class LocalServer:
    def __init__(self, routes: dict[str, Route] | None = None, *, port: int = 0,
                 fallback: Callable[[Incoming], Resource | None] | None = None) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.fallback = fallback
        self.served: dict[str, bytes] = {}
        self.requests: list[Incoming] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_HEAD(self) -> None:  # noqa: N802
                self.do_GET(head=True)

            def do_GET(self, head: bool = False) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                incoming = Incoming(self.command, parts.path, parse_qs(parts.query),
                                    {k: v for k, v in self.headers.items()}, self.path)
                with server._lock:
                    server.requests.append(incoming)
                resource = server.resolve(incoming)
                body = gziplib.compress(resource.body, mtime=0) if resource.gzip else resource.body
                with server._lock:
                    server.served[self.path] = body
                self.send_response(resource.status, resource.reason)
                self.send_header("Content-Type", resource.content_type)
                if resource.gzip:
                    self.send_header("Content-Encoding", "gzip")
                for name, value in resource.headers:
                    self.send_header(name, value)
                if resource.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                else:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                if resource.chunked:
                    for i in range(0, len(body), resource.chunk_size):
                        piece = body[i : i + resource.chunk_size]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def resolve(self, incoming: Incoming) -> Resource:
        route = self.routes.get(incoming.raw_path) or self.routes.get(incoming.path)
        if route is None and self.fallback is not None:
            route = self.fallback(incoming)
        if route is None:
            return Resource(b"<html><body><h1>404 Not Found</h1></body></html>", status=404)
        return route(incoming) if callable(route) else route

    def start(self) -> "LocalServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "LocalServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
