"""Keep the archivist's own credentials out of the archive.

An export is handed to courts, journalists and the public; a login cookie or a bearer token
used to reach the evidence must not travel with it. What the *server* sent (Set-Cookie in a
response) is evidence and is kept; what *we* sent to prove who we are is not.

- yt-dlp's info JSON carries `cookies` (the whole cookie header for the media URL) and
  `http_headers` (the headers it would send, Cookie included), at the top level and in every
  format, thumbnail and fragment entry. `strip_info` removes them wherever they appear.
- Recorded request headers are reduced by `strip_request_headers`; every stripped value is
  replaced by a marker so the record still shows that a credential was sent.

The setting `archive_credentials = true` keeps everything (for an archivist who must prove
which account saw the content, and accepts that the export then carries it).
"""

from __future__ import annotations

from typing import Any

REDACTED = "[removed by tawthiq: a credential of the archivist]"
_SECRET_HEADERS = {"cookie", "authorization", "proxy-authorization", "x-api-key", "x-auth-token",
                   "x-csrf-token", "x-xsrf-token", "x-access-token", "x-session-id", "x-session-token"}
_SECRET_WORDS = ("cookie", "auth", "session", "token", "api-key", "apikey", "password", "secret")
_SECRET_INFO_KEYS = {"cookies", "cookie", "__x_forwarded_for_ip"}


def is_secret_header(name: str) -> bool:
    """Whether a request header carries the sender's identity (its value is not evidence)."""
    lower = name.strip().lower()
    return lower in _SECRET_HEADERS or any(word in lower for word in _SECRET_WORDS)


def strip_request_headers(headers: dict[str, str]) -> dict[str, str]:
    """The headers with each credential's value replaced by a marker (names stay, in order)."""
    return {k: (REDACTED if is_secret_header(k) else v) for k, v in headers.items()}


def strip_info(value: Any) -> Any:
    """A copy of yt-dlp's info (any JSON-like value) without cookies or credential headers."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in _SECRET_INFO_KEYS:
                continue
            if key == "http_headers" and isinstance(item, dict):
                out[key] = {k: v for k, v in item.items() if not is_secret_header(str(k))}
                continue
            out[key] = strip_info(item)
        return out
    if isinstance(value, list):
        return [strip_info(item) for item in value]
    return value
