"""Find an earlier record with the same payload, so identical bytes are stored once.

Looks in what this process wrote first (no database round trip on the hot path), then asks
the catalog about earlier captures.
"""

from __future__ import annotations

from collections.abc import Callable

from tawthiq.archivers.exchange import DigestHit


class DigestIndex:
    def __init__(self, fallback: Callable[[str], DigestHit | None] | None = None) -> None:
        self._seen: dict[str, DigestHit] = {}
        self._fallback = fallback

    def find(self, payload_digest: str) -> DigestHit | None:
        hit = self._seen.get(payload_digest)
        if hit is None and self._fallback is not None:
            hit = self._fallback(payload_digest)
            if hit is not None:
                self._seen[payload_digest] = hit
        return hit

    def add(self, payload_digest: str, hit: DigestHit) -> None:
        self._seen.setdefault(payload_digest, hit)
