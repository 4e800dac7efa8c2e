"""Digests written into WARC headers and the catalog.

SHA-1 is the WARC tradition but has public collisions; evidence needs SHA-256. The label form
`sha256:<hex>` is what Browsertrix writes and what warcio's checker parses.
"""

from __future__ import annotations

import hashlib

ALGORITHM = "sha256"


def warc_digest(data: bytes) -> str:
    return f"{ALGORITHM}:{hashlib.sha256(data).hexdigest()}"


class StreamingDigest:
    """A WARC-form digest fed in pieces, for bodies too large to hold twice."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def __str__(self) -> str:
        return f"{ALGORITHM}:{self._h.hexdigest()}"


def file_sha256(path: str, bufsize: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(bufsize):
            h.update(chunk)
    return h.hexdigest()
