"""Reading a zip's local headers and central directory side by side, the way a range-reading
viewer (ReplayWeb.page) does, to catch bundles whose two records of an entry disagree."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Entry:
    name: str
    header_offset: int  # where the central directory says the local header is
    central_extra: int  # extra-field length in the central directory
    local_extra: int  # extra-field length in the local header
    local_name: str
    data_offset: int  # where the data really starts (local header's lengths)
    viewer_offset: int  # where ReplayWeb.page (wabac.js ZipRangeReader) starts reading


def _zip64_offset(extra: bytes, size_fields: int) -> int | None:
    """The header offset inside a central-directory zip64 extra field, if it carries one."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4 : pos + 4 + length]
        if tag == 1:
            values = [struct.unpack_from("<Q", body, i)[0] for i in range(0, len(body) - len(body) % 8, 8)]
            return values[size_fields] if len(values) > size_fields else None
        pos += 4 + length
    return None


def entries(path: Path) -> list[Entry]:
    raw = Path(path).read_bytes()
    eocd = raw.rfind(b"PK\x05\x06")
    assert eocd >= 0, "no end of central directory record"
    count, cd_size, cd_offset = struct.unpack_from("<HII", raw, eocd + 10)
    if cd_offset == 0xFFFFFFFF or count == 0xFFFF:
        locator = raw.rfind(b"PK\x06\x07", 0, eocd)
        (z64_eocd,) = struct.unpack_from("<Q", raw, locator + 8)
        count, cd_size, cd_offset = struct.unpack_from("<QQQ", raw, z64_eocd + 32)
    out = []
    pos = cd_offset
    for _ in range(count):
        assert raw[pos : pos + 4] == b"PK\x01\x02", f"central directory entry at {pos} has a bad signature"
        csize, usize = struct.unpack_from("<II", raw, pos + 20)
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", raw, pos + 28)
        (offset,) = struct.unpack_from("<I", raw, pos + 42)
        name = raw[pos + 46 : pos + 46 + name_len].decode("utf-8")
        extra = raw[pos + 46 + name_len : pos + 46 + name_len + extra_len]
        if offset == 0xFFFFFFFF:
            offset = _zip64_offset(extra, (usize == 0xFFFFFFFF) + (csize == 0xFFFFFFFF))  # type: ignore[assignment]
        assert raw[offset : offset + 4] == b"PK\x03\x04", f"{name}: no local header at {offset}"
        l_name_len, l_extra_len = struct.unpack_from("<HH", raw, offset + 26)
        local_name = raw[offset + 30 : offset + 30 + l_name_len].decode("utf-8")
        out.append(Entry(name, offset, extra_len, l_extra_len, local_name, offset + 30 + l_name_len + l_extra_len,
                         # ReplayWeb.page reads the local header only when the central entry has an
                         # extra field; otherwise it assumes the local header has none either
                         offset + 30 + l_name_len + l_extra_len if extra_len else offset + 30 + name_len))
        pos += 46 + name_len + extra_len + comment_len
    return out
