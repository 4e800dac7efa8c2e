"""`tawthiq import` as an adversary (or a bad disk) meets it: a cut .warc.gz, a flipped byte, a
cut WACZ, a zip bomb, all refused with one line and nothing left behind; and a plain .warc kept
so that every other command reads it like the rest of the archive."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

from tawthiq.archivers.reader import iter_records
from tests.conftest import ROOT, run_tawthiq, warc_files
from tests.test_search_cli import _wget_warc, search_json


def _refused(result, data_dir: Path) -> str:  # type: ignore[no-untyped-def]
    assert result.code == 2, result.out + result.err
    assert "Traceback" not in result.out + result.err
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: nothing imported:"), lines
    assert not data_dir.exists(), sorted(p.name for p in data_dir.rglob("*"))  # nothing half-written
    return lines[0]


def test_a_cut_or_altered_warc_is_refused_and_nothing_is_left(tmp_path: Path, data_dir: Path) -> None:
    warc = _wget_warc(tmp_path)
    data = warc.read_bytes()
    for cut in (len(data) - 6, len(data) // 2):  # the last gzip trailer, and mid-file
        short = tmp_path / f"cut-{cut}.warc.gz"
        short.write_bytes(data[:cut])
        line = _refused(run_tawthiq(["import", str(short)], data_dir=data_dir), data_dir)
        assert short.name in line, line

    # a plain .warc (decompressed) with one byte of a page changed: its block digest no longer holds
    plain = gzip.decompress(data)
    at = plain.index(b"volunteers")
    altered = tmp_path / "altered.warc"
    altered.write_bytes(plain[:at] + b"V" + plain[at + 1:])
    line = _refused(run_tawthiq(["import", str(altered)], data_dir=data_dir), data_dir)
    assert "block digest failed" in line and "record" in line, line
    cut_plain = tmp_path / "cut.warc"
    cut_plain.write_bytes(plain[: len(plain) - 200])
    line = _refused(run_tawthiq(["import", str(cut_plain)], data_dir=data_dir), data_dir)
    assert "cut short" in line or "digest" in line, line


def test_a_plain_warc_is_kept_so_every_command_reads_it(tmp_path: Path, data_dir: Path) -> None:
    plain = gzip.decompress(_wget_warc(tmp_path).read_bytes())
    original = tmp_path / "site.warc"
    original.write_bytes(plain)
    result = run_tawthiq(["import", str(original)], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    (kept,) = [p for p in warc_files(data_dir) if p.name.startswith("imported-")]
    assert kept.name.endswith(".warc.gz")
    assert gzip.decompress(kept.read_bytes()) == plain  # the original, byte for byte
    # one gzip member per record, as a WARC reader expects of a .warc.gz
    assert len(list(iter_records(kept))) == plain.count(b"WARC/1.")
    # the import says what the original was, so anyone can check the stored file against it
    (doc,) = [r.document for p in warc_files(data_dir) for r in iter_records(p)
              if r.rec_type == "metadata" and r.kind == "import"]
    assert doc["original_sha256"] == hashlib.sha256(plain).hexdigest() and doc["stored_as"] == kept.name

    listed = run_tawthiq(["warcs"], data_dir=data_dir)
    assert listed.code == 0 and "missing" not in listed.out + listed.err, listed.out + listed.err
    checked = run_tawthiq(["verify", str(data_dir)])
    assert checked.code != 1 and kept.name not in checked.err, checked.out + checked.err
    assert search_json(data_dir, "bakery")["total"] == 1
    again = run_tawthiq(["import", str(original)], data_dir=data_dir)
    assert again.code == 0 and "already in the archive" in again.out

    # an export of the imported page holds whole gzip members only
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    out = tmp_path / "case.wacz"
    made = run_tawthiq(["export", "bakery", "-o", str(out)], data_dir=data_dir)
    assert made.code == 0, made.out + made.err
    with zipfile.ZipFile(out) as zf:
        (member,) = [n for n in zf.namelist() if n.endswith(".warc.gz")]
        body = zf.read(member)
    exported = tmp_path / "exported.warc.gz"
    exported.write_bytes(body)
    assert b"bakery" in gzip.decompress(body)  # whole gzip members: the page reads back
    assert [r.uri for r in iter_records(exported) if r.rec_type == "response"]
    assert run_tawthiq(["verify", str(out)]).code != 1


def test_a_cut_wacz_and_a_cut_member_are_refused(tmp_path: Path, data_dir: Path) -> None:
    warc = _wget_warc(tmp_path)
    data = warc.read_bytes()
    good = tmp_path / "good.wacz"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.warc.gz", data)
        zf.writestr("datapackage.json", json.dumps({"profile": "data-package", "resources": []}))
    cut = tmp_path / "cut.wacz"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) - 300])
    line = _refused(run_tawthiq(["import", str(cut)], data_dir=data_dir), data_dir)
    assert "cut.wacz" in line and "zip" in line, line

    member_cut = tmp_path / "member-cut.wacz"
    with zipfile.ZipFile(member_cut, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.warc.gz", data[: len(data) - 6])
    line = _refused(run_tawthiq(["import", str(member_cut)], data_dir=data_dir), data_dir)
    assert "archive/data.warc.gz" in line and "truncated" in line, line


def _zip_bomb(path: Path, inflated: int, *, declared: int | None = None) -> None:
    """A valid zip whose one WARC member deflates to `inflated` zero bytes. One megabyte of zeros
    is deflated once, ending on a full flush so the piece stands alone, and repeated: the bomb is
    made in a moment instead of compressing gigabytes."""
    block = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    count = inflated // len(block)
    data = piece * count + b"\x03\x00"  # then an empty final block
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    name = b"archive/data.warc.gz"
    size = inflated if declared is None else declared  # an entry may lie about its size
    fields = struct.pack("<HHHHHIIIH", 20, 0, 8, 0, 0, crc, len(data), size, len(name))
    local = b"PK\x03\x04" + fields + struct.pack("<H", 0) + name
    central = (b"PK\x01\x02" + struct.pack("<H", 20) + fields
               + struct.pack("<HHHHII", 0, 0, 0, 0, 0, 0) + name)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


def test_a_zip_bomb_is_refused_in_bounded_memory(tmp_path: Path, data_dir: Path) -> None:
    bomb = tmp_path / "bomb.wacz"
    _zip_bomb(bomb, 2 << 30)  # 2 GiB of zeros in about 2 MB
    assert bomb.stat().st_size < 5_000_000
    with zipfile.ZipFile(bomb) as zf:
        assert zf.getinfo("archive/data.warc.gz").file_size == 2 << 30
    # the import in a child process whose peak resident memory is measured with getrusage
    probe = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, '-m', 'tawthiq.cli', 'import', sys.argv[1], '--data-dir', sys.argv[2]],"
        " capture_output=True, text=True)\n"
        "print(p.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stderr.write(p.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, str(bomb), str(data_dir)], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    code, peak_kib = (int(x) for x in proc.stdout.split())
    assert code == 2 and "zip bomb" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert peak_kib < 300 * 1024, f"peak resident memory {peak_kib} KiB"
    assert not data_dir.exists()


def test_a_zip_entry_that_lies_about_its_size_is_refused(tmp_path: Path, data_dir: Path) -> None:
    """An entry that declares 4 MB (within the ratio) but inflates to 2 GiB is read no further
    than it declares, and its CRC then fails: refused, the disk not filled."""
    liar = tmp_path / "liar.wacz"
    _zip_bomb(liar, 2 << 30, declared=4 << 20)
    line = _refused(run_tawthiq(["import", str(liar)], data_dir=data_dir), data_dir)
    assert "liar.wacz:archive/data.warc.gz" in line and "damaged zip member" in line, line
