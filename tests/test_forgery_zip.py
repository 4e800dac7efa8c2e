"""Zip-level forgeries of a signed WACZ, aimed at what ReplayWeb.page reads rather than what
Python's zipfile reads (found by an adversarial review of the verifier): bytes hidden in a local
header's extra field (ReplayWeb.page assumes none when the central directory has none, so it reads
them as the entry), ZIP64 end records whose 32-bit end record points elsewhere, a NUL inside a
central-directory name, a directory of thousands of entries, and a signature sidecar that is JSON
`null`. Each must FAIL under the pinned key, fast and without a traceback.

The zip is rebuilt here from the genuine export's raw headers (struct), as a forger would.
"""

from __future__ import annotations

import io
import json
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

from tawthiq.archivers.verify import FAILED, verify_wacz, verify_warc
from tests.test_forgery import Case, _assert, _copy_warc, case  # noqa: F401 - the module's export fixture

_EOCD = struct.Struct("<4sHHHHIIH")


def _entries(raw: bytes) -> list[dict[str, Any]]:
    """Each entry's local header, name, extra, data and central-directory record, in file order."""
    zf = zipfile.ZipFile(io.BytesIO(raw))
    cd, pos, out = raw[zf.start_dir:], 0, []
    while cd[pos:pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", cd[pos + 28:pos + 34])
        record = bytearray(cd[pos:pos + 46 + n + m + k])
        pos += 46 + n + m + k
        offset, size = struct.unpack("<I", record[42:46])[0], struct.unpack("<I", record[20:24])[0]
        ln, le = struct.unpack("<HH", raw[offset + 26:offset + 30])
        start = offset + 30 + ln + le
        out.append({"name": bytes(record[46:46 + n]).decode(), "local": bytearray(raw[offset:offset + 30]),
                    "lname": raw[offset + 30:offset + 30 + ln], "extra": raw[offset + 30 + ln:start],
                    "data": raw[start:start + size], "cd": record})
    return out


def _build(entries: list[dict[str, Any]], *, zip64_with_eocd_offset: int | None = None) -> bytes:
    out = bytearray()
    for e in entries:
        struct.pack_into("<I", e["cd"], 42, len(out))
        local = bytearray(e["local"])
        struct.pack_into("<H", local, 28, len(e["extra"]))
        out += local + e["lname"] + e["extra"] + e["data"]
    start, directory = len(out), b"".join(bytes(e["cd"]) for e in entries)
    out += directory
    n = len(entries)
    if zip64_with_eocd_offset is not None:
        out += struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, n, n, len(directory), start)
        out += struct.pack("<4sIQI", b"PK\x06\x07", 0, start + len(directory), 1)
        out += _EOCD.pack(b"PK\x05\x06", 0, 0, n, n, len(directory), zip64_with_eocd_offset, 0)
    else:
        out += _EOCD.pack(b"PK\x05\x06", 0, 0, n, n, len(directory), start, 0)
    return bytes(out)


def test_the_rebuilt_genuine_zip_still_verifies(case: Case, tmp_path: Path) -> None:
    same = tmp_path / "same.wacz"
    same.write_bytes(_build(_entries(case.wacz.read_bytes())))
    assert verify_wacz(same, key_fingerprint=case.fingerprint).verdict != FAILED


def test_pages_hidden_in_a_local_extra_field(case: Case, tmp_path: Path) -> None:
    entries = _entries(case.wacz.read_bytes())
    pages = next(e for e in entries if e["name"] == "pages/pages.jsonl")
    lines = [json.loads(line) for line in pages["data"].decode().splitlines()]
    for line in lines[1:]:
        line["title"] = "FORGED"
    pages["extra"] = "".join(json.dumps(line) + "\n" for line in lines).encode()[:60000]
    forged = tmp_path / "extra.wacz"
    forged.write_bytes(_build(entries))
    assert zipfile.ZipFile(forged).read("pages/pages.jsonl") == pages["data"]  # zipfile sees the genuine bytes
    _assert(verify_wacz(forged, key_fingerprint=case.fingerprint), FAILED, "extra field")


def test_zip64_end_records_with_a_wrong_32_bit_offset(case: Case, tmp_path: Path) -> None:
    forged = tmp_path / "zip64.wacz"
    forged.write_bytes(_build(_entries(case.wacz.read_bytes()), zip64_with_eocd_offset=12345))
    _assert(verify_wacz(forged, key_fingerprint=case.fingerprint), FAILED, "end of the central directory")


def test_a_nul_inside_a_central_directory_name(case: Case, tmp_path: Path) -> None:
    entries = _entries(case.wacz.read_bytes())
    record = next(e for e in entries if e["name"] == "pages/pages.jsonl")["cd"]
    n = struct.unpack("<H", record[28:30])[0]
    renamed = bytearray(record[:46]) + record[46:46 + n] + b"\0x" + record[46 + n:]
    struct.pack_into("<H", renamed, 28, n + 2)
    next(e for e in entries if e["name"] == "pages/pages.jsonl")["cd"] = renamed
    forged = tmp_path / "nul.wacz"
    forged.write_bytes(_build(entries))
    _assert(verify_wacz(forged, key_fingerprint=case.fingerprint), FAILED, "name")


def test_a_directory_of_many_entries_is_refused_unread(tmp_path: Path) -> None:
    out, records = bytearray(), []
    for i in range(20000):
        name = f"e{i:07d}".encode()
        records.append(struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, 0, 0,
                                   len(name), 0, 0, 0, 0, 0, len(out)) + name)
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, 0, 0, 0, len(name), 0) + name
    start, directory = len(out), b"".join(records)
    out += directory + _EOCD.pack(b"PK\x05\x06", 0, 0, 20000, 20000, len(directory), start, 0)
    many = tmp_path / "many.wacz"
    many.write_bytes(bytes(out))
    began = time.monotonic()
    _assert(verify_wacz(many), FAILED, "20000 entries")
    assert time.monotonic() - began < 2  # the quadratic duplicate check took minutes at this size


def test_a_null_signature_sidecar_fails_under_a_pinned_key(case: Case, tmp_path: Path) -> None:
    copy = _copy_warc(case, tmp_path / "null.warc.gz")
    copy.with_name(copy.name + ".manifest.sig.json").write_text("null")
    _assert(verify_warc(copy, key_fingerprint=case.fingerprint), FAILED, "not a JSON object")
