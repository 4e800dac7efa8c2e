"""Claims that expire: which worker captures a source, which scheduler is the leader.

A lease is a Redis key set with NX and an expiry, renewed by its holder while it works. A holder
that dies stops renewing, and the key expires: the work can then be taken up elsewhere. Renewal
and release check the value, so a holder whose lease expired cannot touch a successor's.
"""

from __future__ import annotations

import threading
from typing import Any

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class Lease:
    def __init__(self, redis: Any, key: str, holder: str, seconds: float) -> None:
        self.redis, self.key, self.holder = redis, key, holder
        self.ms = int(seconds * 1000)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = threading.Event()

    def acquire(self) -> bool:
        return bool(self.redis.set(self.key, self.holder, nx=True, px=self.ms))

    def renew(self) -> bool:
        return bool(self.redis.eval(_RENEW, 1, self.key, self.holder, self.ms))

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.redis.eval(_RELEASE, 1, self.key, self.holder)

    def keep_alive(self) -> None:
        """Renew from a background thread every third of the lease until released."""

        def loop() -> None:
            while not self._stop.wait(self.ms / 3000):
                try:
                    if not self.renew():
                        self.lost.set()
                        return
                except Exception:  # noqa: BLE001 - Redis unreachable for a moment: try again
                    continue

        self._thread = threading.Thread(target=loop, name=f"lease {self.key}", daemon=True)
        self._thread.start()


def holder_of(redis: Any, key: str) -> str | None:
    value = redis.get(key)
    return value.decode() if isinstance(value, bytes) else value
