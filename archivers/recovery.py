"""Repair WARC files left `.open` by a crash (kill -9, power loss).

A file is cut back to its last complete gzip member whose WARC record is whole, fsynced and
sealed under its final name. The cut-off tail is not thrown away: it is kept beside the
archive in `damaged/` so nothing that reached the disk is lost. A file another live process
still holds (its lock is taken) is left alone.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from tawthiq.archivers.writer import OPEN_SUFFIX, fsync_dir

_READ = 1 << 20


@dataclass
class RecoveryResult:
    open_path: Path
    sealed_path: Path | None
    kept_bytes: int
    cut_bytes: int
    records: int
    tail_path: Path | None = None


def _record_is_whole(head: bytes, decompressed: int) -> bool:
    end = head.find(b"\r\n\r\n")
    if end < 0 or not head.startswith(b"WARC/"):
        return False
    length = None
    for line in head[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return False
    if length is None:
        return False
    return decompressed == end + 4 + length + 4


def complete_prefix(path: Path) -> tuple[int, int]:
    """(bytes, records) of the longest prefix made of whole gzip members holding whole records."""
    good_end = 0
    records = 0
    with open(path, "rb") as fh:
        member_start = 0
        pending = b""
        while True:
            d = zlib.decompressobj(31)
            head = b""
            size = 0
            consumed = 0
            data = pending
            pending = b""
            while not d.eof:
                if not data:
                    data = fh.read(_READ)
                    if not data:
                        return good_end, records
                try:
                    out = d.decompress(data)
                except zlib.error:
                    return good_end, records
                consumed += len(data) - len(d.unused_data)
                if len(head) < 65536:
                    head += out[: 65536 - len(head)]
                size += len(out)
                data = b""
            pending = d.unused_data
            if not _record_is_whole(head, size):
                return good_end, records
            member_start += consumed
            good_end = member_start
            records += 1


def recover_file(open_path: Path) -> RecoveryResult | None:
    """Cut an orphaned `.open` file back to whole records and seal it; None if still in use."""
    open_path = Path(open_path)
    fd = os.open(open_path, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        total = os.fstat(fd).st_size
        kept, records = complete_prefix(open_path)
        tail_path = None
        if kept < total:
            damaged = open_path.parent / "damaged"
            damaged.mkdir(exist_ok=True)
            tail_path = damaged / (open_path.name.removesuffix(OPEN_SUFFIX) + f".tail-at-{kept}")
            with open(open_path, "rb") as src, open(tail_path, "wb") as dst:
                src.seek(kept)
                while chunk := src.read(_READ):
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            os.ftruncate(fd, kept)
        os.fsync(fd)
        if records == 0:
            os.unlink(open_path)
            fsync_dir(open_path.parent)
            return RecoveryResult(open_path, None, 0, total, 0, tail_path)
        final = open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX))
        os.rename(open_path, final)
        fsync_dir(open_path.parent)
        return RecoveryResult(open_path, final, kept, total - kept, records, tail_path)
    finally:
        os.close(fd)


def find_open_files(directory: Path) -> list[Path]:
    return sorted(Path(directory).glob(f"*.warc.gz{OPEN_SUFFIX}"))
