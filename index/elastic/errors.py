"""Every failure of a call to Elasticsearch as one of tawthiq's kinds, in one line.

A connection refused, a timeout or a 5xx/429 is Unavailable (exit 75, HTTP 503: try again
later); refused credentials (401) and a missing privilege (403) are the operator's settings
(ConfigError, exit 2), and the 403 message names the privilege the call needs. No message carries a
credential: the URL is shown without its user-info part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tawthiq.errors import ConfigError, TawthiqError
from tawthiq.index.backend import IndexMissing, IndexUnavailable


class ElasticRefused(ConfigError, IndexUnavailable):
    """Elasticsearch refused the credentials, a privilege, or the request itself: the settings
    (or the cluster's roles) must change, retrying will not help."""


def shown_url(url: str) -> str:
    """The URL without `user:password@`, for messages; never raises (a bad port or a URL
    without a scheme is shown as given, less its user-info)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    netloc, slash, tail = rest.partition("/")
    _, at, host = netloc.rpartition("@")
    if not at:
        return url
    return f"{scheme}{'://' if sep else ''}{host}{slash}{tail}"


def _reason(exc: Any) -> str:
    """The server's own words: `type: reason` from the error body, else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        text = f"{err.get('type', '')}: {err.get('reason', '')}".strip(": ")
        cause = err.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause['reason']})"
        return text
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return str(getattr(exc, "message", "") or exc)


def _granted_by(reason: str) -> str:
    """Elasticsearch's 403 says which privileges would grant the action; quote that part."""
    m = re.search(r"this action is granted by the (?:index|cluster) privileges \[[^\]]*\]", reason)
    return f"; Elasticsearch says {m.group(0)}" if m else ""


def translate(exc: BaseException, *, doing: str, needs: str, url: str) -> TawthiqError:
    """The tawthiq error for a failed call; `doing` says what tawthiq was doing ("search
    tawthiq-posts"), `needs` the privilege that call needs (for a 403)."""
    from elastic_transport import ConnectionError as TransportConnectionError
    from elastic_transport import ConnectionTimeout, SerializationError, TlsError, TransportError
    from elasticsearch import ApiError, UnsupportedProductError

    where = shown_url(url)
    if isinstance(exc, UnsupportedProductError):
        return ElasticRefused(f"{where} is not Elasticsearch (no X-Elastic-Product header): "
                              "tawthiq needs Elasticsearch 8.x or 9.x, or the tantivy backend")
    if isinstance(exc, ApiError):
        status = exc.meta.status if exc.meta is not None else 0
        reason = _reason(exc)
        if status == 401:
            return ElasticRefused(f"Elasticsearch at {where} refused the credentials (401) to {doing}: "
                                  "check elasticsearch_api_key, or elasticsearch_username and elasticsearch_password")
        if status == 403:
            return ElasticRefused(f"Elasticsearch at {where} refused to {doing} (403): the user lacks {needs}"
                                  f"{_granted_by(reason)}")
        if status == 404 and "index_not_found" in reason:
            return IndexMissing(f"no index behind {doing.split()[-1]!r} on Elasticsearch at {where}: "
                                "run `tawthiq reindex`")
        if status == 429 or status >= 500:
            return IndexUnavailable(f"Elasticsearch at {where} could not {doing} ({status} {reason}): try again later")
        return ElasticRefused(f"Elasticsearch at {where} refused to {doing} ({status} {reason})")
    if isinstance(exc, TlsError):
        return ElasticRefused(f"TLS to Elasticsearch at {where} failed ({exc.message}): set elasticsearch_ca_file "
                              "to the CA that signed the server's certificate")
    if isinstance(exc, ConnectionTimeout):
        return IndexUnavailable(f"Elasticsearch at {where} did not answer in time to {doing}: try again later, "
                                "or raise elasticsearch_timeout")
    if isinstance(exc, TransportConnectionError):
        return IndexUnavailable(f"cannot reach Elasticsearch at {where} to {doing}: is it running?")
    if isinstance(exc, SerializationError):
        return IndexUnavailable(f"Elasticsearch at {where} sent an answer that is not JSON while trying to {doing}")
    if isinstance(exc, TransportError):
        return IndexUnavailable(f"Elasticsearch at {where} could not {doing}: {exc.message}")
    raise exc


@contextmanager
def translated(*, doing: str, needs: str, url: str) -> Iterator[None]:
    """Calls inside raise tawthiq errors, never the client's."""
    from elastic_transport import TransportError
    from elasticsearch import ApiError

    try:
        yield
    except (ApiError, TransportError) as exc:
        raise translate(exc, doing=doing, needs=needs, url=url) from None
