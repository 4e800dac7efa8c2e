"""The bytes of one HTTP exchange as they went over the connection.

Its own module so the wire (which fills it), the recorder (which hands it over) and the sink
(which archives it) all depend on it without depending on each other in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class WireCapture:
    """What went over the connection for one request; filled in by the protocol."""

    url: str
    method: str
    limit: int = 0
    request_bytes: bytearray = field(default_factory=bytearray)
    response_bytes: bytearray = field(default_factory=bytearray)
    ip: str | None = None
    started: datetime | None = None
    truncated: str | None = None
    error: BaseException | None = None
    # Earlier attempts on connections that closed under them: (request bytes, response bytes, outcome).
    attempts: list[tuple[bytes, bytes, str]] = field(default_factory=list)

    def new_attempt(self, outcome: str) -> None:
        """Set the bytes of a failed attempt aside; the retry is recorded afresh."""
        self.attempts.append((bytes(self.request_bytes), bytes(self.response_bytes), outcome))
        self.request_bytes = bytearray()
        self.response_bytes = bytearray()
        self.truncated = None

    def take_response(self, data: bytes) -> bool:
        """Keep received bytes up to the limit; False once the limit is reached."""
        if self.truncated:
            return False
        if self.limit and len(self.response_bytes) + len(data) > self.limit:
            self.response_bytes += data[: self.limit - len(self.response_bytes)]
            self.truncated = "length"
            return False
        self.response_bytes += data
        return True
