"""RFC 3161 time-stamp tokens from a configurable time-stamp authority (TSA).

A token proves that a digest existed at a time, signed by the TSA. Tokens are requested for
each WARC file when it is sealed (stored beside it as `NAME.warc.gz.tsr`) and for the custody
manifest of every export. No TSA configured means no token, and every report says so: a
token is never faked or self-issued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


class TimestampError(ValueError):
    """The TSA could not be reached or its answer did not verify; the message says which."""


@dataclass
class TokenCheck:
    ok: bool
    time: datetime | None
    problem: str | None = None


def request_token(tsa_url: str, data_sha256: bytes, *, timeout: float = 30) -> bytes:
    """Ask the TSA for a token over a SHA-256 digest; returns the DER TimeStampToken."""
    import rfc3161ng

    stamper = rfc3161ng.RemoteTimestamper(tsa_url, hashname="sha256", include_tsa_certificate=True, timeout=timeout)
    try:
        return stamper(digest=data_sha256)
    except Exception as exc:  # noqa: BLE001 - network, HTTP and ASN.1 errors all end here
        raise TimestampError(f"time-stamp authority {tsa_url} failed: {type(exc).__name__}: {exc}") from None


def check_token(token: bytes, data_sha256: bytes, *, certificate: bytes | None = None) -> TokenCheck:
    """Does this token cover this digest, with a valid TSA signature? (and when was it made)"""
    import rfc3161ng

    try:
        rfc3161ng.check_timestamp(token, certificate=certificate or b"", digest=data_sha256, hashname="sha256")
        return TokenCheck(True, rfc3161ng.get_timestamp(token, naive=False))
    except Exception as exc:  # noqa: BLE001
        return TokenCheck(False, None, f"{type(exc).__name__}: {exc}")


def sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 << 20):
            h.update(chunk)
    return h.digest()


def token_path(warc: Path) -> Path:
    return warc.with_name(warc.name + ".tsr")
