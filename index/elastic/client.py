"""One Elasticsearch client per process, speaking the server's major version.

elasticsearch-py 9 marks every request `Accept`/`Content-Type: application/vnd.elasticsearch+json;
compatible-with=9`, which an 8.x server refuses (400 media_type_header_exception: "Accept version
must be either version 8 or 7, but found 9"). So the server is first asked `GET /` with plain
`application/json` (which 8.x and 9.x both accept), and the transport then rewrites the
compatibility version on every request to the server's major: 8 to an 8.x server, 9 to 9.x.
Per-request headers are set by each API method, so client-level `headers=` would be overwritten;
the rewrite sits in the transport, the one place every request passes.

OpenSearch is refused at that first `GET /` (its answer says `"distribution": "opensearch"`):
the client raises UnsupportedProductError on the first 2xx answer without `X-Elastic-Product:
Elasticsearch`, OpenSearch answers any `vnd.elasticsearch` media type with 406 ("Content-Type
header [...] is not supported"), and its point-in-time API (used to page past 10,000 hits) has
other paths.

The client (and its connection pool) is cached per settings: the web app opens the backend per
request and must not connect, probe, or write anything each time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tawthiq.index.backend import BackendMisconfigured
from tawthiq.index.elastic.errors import ElasticRefused, shown_url, translated

_COMPAT = re.compile(r"compatible-with=\d+")
MIN_MAJOR = 8


@dataclass(frozen=True, repr=False)
class ElasticConfig:
    """What it takes to reach the cluster (built from the settings by the glue). Its repr shows
    no secret: the URL without user-info, no password, no API key."""

    url: str
    index: str = "tawthiq-posts"
    api_key: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    verify_certs: bool = True
    timeout: float = 30.0

    @property
    def shown_url(self) -> str:
        return shown_url(self.url)

    def __repr__(self) -> str:
        auth = "api_key" if self.api_key else f"user {self.username!r}" if self.username else "none"
        return (f"ElasticConfig(url={self.shown_url!r}, index={self.index!r}, auth={auth}, "
                f"ca_file={self.ca_file!r}, verify_certs={self.verify_certs}, timeout={self.timeout})")


_VND = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+); ?compatible-with=\d+")
PLAIN = 0  # CompatTransport.compat: send plain application/json (the first GET /)


def _transport_class() -> type:
    from elastic_transport import Transport

    class CompatTransport(Transport):  # type: ignore[misc]  # elastic_transport is typed, but Any here
        """Rewrites `compatible-with=N` to the server's major on every request (PLAIN: back to
        plain `application/json`, which every major accepts)."""

        compat: int = PLAIN

        def perform_request(self, method: str, target: str, *, headers: Any = None, **kw: Any) -> Any:
            if headers:
                headers = headers.copy() if hasattr(headers, "copy") else dict(headers)
                for name in ("accept", "content-type"):
                    value = headers.get(name)
                    if value and "compatible-with=" in value:
                        headers[name] = (_VND.sub(r"application/\1", value) if self.compat == PLAIN
                                         else _COMPAT.sub(f"compatible-with={self.compat}", value))
                return super().perform_request(method, target, headers=headers, **kw)
            return super().perform_request(method, target, **kw)

    return CompatTransport


@dataclass
class Connected:
    """A client known to speak to Elasticsearch `version` (major `major`)."""

    es: Any
    version: str
    major: int


_lock = threading.Lock()
_clients: dict[ElasticConfig, Connected] = {}


def _client_options(config: ElasticConfig) -> dict[str, Any]:
    if config.api_key and (config.username or config.password):
        raise BackendMisconfigured("set either elasticsearch_api_key or elasticsearch_username/"
                                   "elasticsearch_password, not both")
    if bool(config.username) != bool(config.password):
        raise BackendMisconfigured("elasticsearch_username and elasticsearch_password go together: set both")
    opts: dict[str, Any] = {"request_timeout": config.timeout, "verify_certs": config.verify_certs,
                            "transport_class": _transport_class(), "max_retries": 1, "retry_on_timeout": False}
    if config.api_key:
        opts["api_key"] = config.api_key
    if config.username:
        opts["basic_auth"] = (config.username, config.password)
    if config.ca_file:
        opts["ca_certs"] = config.ca_file
    if not config.verify_certs:
        opts["ssl_show_warn"] = False
    return opts


def probe(es: Any, config: ElasticConfig) -> tuple[str, int]:
    """(version, major) from `GET /`, asked in plain JSON (the transport is still PLAIN) so that
    any major answers; with the client's credentials, so a 401 is seen here."""
    from elasticsearch import UnsupportedProductError

    with translated(doing="read the server version (GET /)", needs="the cluster privilege `monitor`",
                    url=config.url):
        try:
            body = es.perform_request("GET", "/", headers={"accept": "application/json"}).body
        except UnsupportedProductError as exc:  # answered, but not as Elasticsearch
            _refuse(config, exc.body if isinstance(exc.body, Mapping) else {})
            raise
    version = (body or {}).get("version", {}) if isinstance(body, Mapping) else {}
    number = str(version.get("number", ""))
    try:
        major = int(number.split(".")[0])
    except ValueError:
        raise ElasticRefused(f"{config.shown_url} gave no version number at GET /") from None
    if major < MIN_MAJOR:
        raise ElasticRefused(f"Elasticsearch {number} at {config.shown_url} is too old: tawthiq needs 8.x or 9.x")
    return number, major


def _refuse(config: ElasticConfig, body: Mapping[str, Any]) -> None:
    version = body.get("version") or {}
    if isinstance(version, Mapping) and version.get("distribution") == "opensearch":
        raise ElasticRefused(f"{config.shown_url} is OpenSearch {version.get('number', '')}: the Elasticsearch "
                             "client tawthiq uses refuses it (see the README); use Elasticsearch 8.x/9.x or the "
                             "tantivy backend")


def connect(config: ElasticConfig) -> Connected:
    """The process's client for these settings: connected and probed once, then reused."""
    with _lock:
        found = _clients.get(config)
        if found is not None:
            return found
    from elasticsearch import Elasticsearch, __versionstr__

    opts = _client_options(config)
    try:
        es = Elasticsearch(config.url, **opts)
    except (ValueError, TypeError) as exc:  # a malformed URL or option
        raise BackendMisconfigured(f"elasticsearch_url {config.shown_url!r} cannot be used: {exc}") from None
    try:
        version, major = probe(es, config)
    except BaseException:
        es.close()
        raise
    es.transport.compat = min(major, int(__versionstr__.split(".")[0]))  # type: ignore[attr-defined]  # CompatTransport
    connected = Connected(es, version, major)
    with _lock:
        existing = _clients.setdefault(config, connected)
    if existing is not connected:
        es.close()
    return existing


def forget_clients() -> None:
    """Close every cached client (tests; a process that changes its settings)."""
    with _lock:
        found = list(_clients.values())
        _clients.clear()
    for c in found:
        c.es.close()
