"""SHA-256 of a file computed while another program (yt-dlp) is still writing it.

Why: a WARC record's header carries its digest before its block, so without a digest known in
advance a downloaded video is read twice after the download (hash, then frame). A thread that
follows the growing file hashes it on the second core while the download runs, and archiving
then needs one read. The digest is only handed out for the very file it followed, unchanged
since the download finished (same inode, size and modification time) and never shrunk while
followed (a restarted download): anything else gets no digest and the caller hashes the file
itself, as before.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_BUF = 4 << 20
_POLL_S = 0.02


@dataclass(frozen=True)
class KnownDigest:
    """The WARC-form digest and size of a file, and the identity it had when they were taken."""

    digest: str
    size: int
    identity: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns


def identity_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class _Follower(threading.Thread):
    """Reads one file from its start up to wherever its writer has got, until told it is whole."""

    def __init__(self, path: str) -> None:
        super().__init__(name="tawthiq-tailhash", daemon=True)
        self.fd = os.open(path, os.O_RDONLY)
        self.sha = hashlib.sha256()
        self.size = 0
        self.whole = threading.Event()
        self.broken: str | None = None
        self.final_identity: tuple[int, int, int, int] | None = None
        self.reported = 0  # the most bytes yt-dlp said it had written

    def run(self) -> None:
        buf = bytearray(_BUF)
        view = memoryview(buf)
        try:
            while True:
                whole = self.whole.is_set()  # sampled before reading: a read after it sees every byte
                n = os.readv(self.fd, [view])
                if n:
                    self.sha.update(view[:n])
                    self.size += n
                    continue
                st = os.fstat(self.fd)
                if st.st_size < self.size:
                    self.broken = "the file shrank while it was being written (a restarted download)"
                    return
                if whole:
                    self.final_identity = identity_of(st)
                    return
                self.whole.wait(_POLL_S)
        except OSError as exc:
            self.broken = f"{type(exc).__name__}: {exc}"
        finally:
            os.close(self.fd)


class TailHasher:
    """A yt-dlp progress hook that hashes each downloaded file while it is written."""

    def __init__(self) -> None:
        self._following: dict[str, _Follower] = {}
        self._finished: dict[str, _Follower] = {}
        # yt-dlp's "finished" status names only the final file, not the `.part` file it was
        # written as: the final name each followed file was announced with at "downloading".
        self._tmp_of: dict[str, str] = {}
        self._started: list[_Follower] = []
        self._lock = threading.Lock()

    def hook(self, status: dict[str, Any]) -> None:
        state = status.get("status")
        tmp = status.get("tmpfilename") or status.get("filename")
        if not tmp:
            return
        with self._lock:
            if state == "downloading":
                follower = self._following.get(tmp)
                if follower is None and os.path.exists(tmp):
                    follower = self._following[tmp] = _Follower(tmp)
                    self._started.append(follower)
                    follower.start()
                final = status.get("filename")
                if follower is not None and final:
                    self._tmp_of[final] = tmp
                done = status.get("downloaded_bytes")
                if follower is not None and isinstance(done, int):
                    if done < follower.reported:  # started again from an earlier point
                        follower.broken = "the download restarted while it was being hashed"
                    follower.reported = max(follower.reported, done)
            elif state == "finished":
                final = status.get("filename") or tmp
                tmp = status.get("tmpfilename") or self._tmp_of.pop(final, tmp)
                follower = self._following.pop(tmp, None) or self._following.pop(final, None)
                if follower is None and os.path.exists(final):
                    follower = _Follower(final)  # one block only: no "downloading" call came first
                    self._started.append(follower)
                    follower.start()
                if follower is not None:
                    follower.whole.set()
                    self._finished[os.path.abspath(final)] = follower
            elif state == "error":
                follower = self._following.pop(tmp, None)
                if follower is not None:
                    follower.broken = "the download failed"
                    follower.whole.set()

    def close(self) -> None:
        """Stop following (a download that ended without finishing) and wait for the threads."""
        with self._lock:
            every = list(self._following.values()) + list(self._finished.values())
            for follower in self._following.values():
                follower.broken = follower.broken or "the download did not finish"
                follower.whole.set()
            self._following.clear()
        for follower in every:
            follower.join()

    def bytes_read(self) -> int:
        """How many bytes the followers have read so far (each file's size when it is read once)."""
        with self._lock:
            return sum(f.size for f in self._started)

    def digest_of(self, path: Path) -> KnownDigest | None:
        """The digest of `path` if it was followed whole and has not changed since; else None."""
        follower = self._finished.get(os.path.abspath(path))
        if follower is None:
            return None
        follower.join()
        if follower.broken or follower.final_identity is None or follower.size < follower.reported:
            return None
        try:
            now = identity_of(os.stat(path))
        except OSError:
            return None
        if now != follower.final_identity or now[2] != follower.size:
            return None  # renamed over, rewritten or fixed up after the download: hash it again
        return KnownDigest(f"sha256:{follower.sha.hexdigest()}", follower.size, now)
