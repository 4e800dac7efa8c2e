"""`tawthiq verify`: recompute every digest of a WACZ, a `.warc.gz` export with its sidecars, a
single WARC file or a whole data directory, check signatures and time-stamp tokens, and give one
of three verdicts:

- VERIFIED (exit 0): every digest holds, a valid signature binds everything a reader relies on
  (with --key-fingerprint: made by that key), and every time-stamp present chains to a trusted
  authority. The verdict says whether the signer's identity is pinned and whether the time of
  capture is proven by a token or only claimed.
- INTACT BUT UNPROVEN (exit 3): the digests hold, but nothing proves who made it (no valid
  signature) or a time-stamp does not chain to a trusted authority. Anyone could have produced it.
- FAILED (exit 1): something was altered, removed, added or reordered; each problem names the
  file, the record and the byte offset.

Why so strict: digests alone prove nothing, since whoever edits a record can recompute them. Only a
signature by a known key, and tokens from an authority the reader trusts, make a claim.
Works offline and streams: memory stays flat whatever is uploaded (a zip or gzip bomb is refused
or costs only time).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cryptography import x509

from tawthiq.archivers import signing, timestamps
from tawthiq.archivers.integrity import check_members

VERIFIED, UNPROVEN, FAILED = "VERIFIED", "INTACT BUT UNPROVEN", "FAILED"
EXIT_CODES = {VERIFIED: 0, UNPROVEN: 3, FAILED: 1}
# Small JSON documents of a bundle are read whole; a larger one is refused, not decompressed or parsed.
MAX_DOCUMENT = 64 << 20
_REQUIRED = ("datapackage.json", "datapackage-digest.json", "archive/data.warc.gz", "custody/manifest.json")


@dataclass
class Report:
    """What was checked. `problems` fail the bundle; `unproven` says why it is not proven."""

    problems: list[str] = field(default_factory=list)
    unproven: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    signer: str | None = None  # the fingerprint of the key every signature was made by
    pinned: bool = False  # --key-fingerprint given and matched
    proven_times: list[str] = field(default_factory=list)  # tokens anchored to a trusted TSA

    @property
    def verdict(self) -> str:
        if self.problems:
            return FAILED
        return UNPROVEN if self.unproven or not self.signer else VERIFIED

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.verdict]

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self) -> list[str]:
        """The plain-language lines that come with the verdict."""
        lines = []
        if self.verdict == FAILED:
            return [f"{len(self.problems)} problem(s), each on a PROBLEM line above with where it is"]
        if self.signer:
            lines.append(f"signed by key {self.signer}" + (
                " (the key you pinned)" if self.pinned else
                "; who holds that key is NOT established: compare it with the fingerprint its owner "
                "published, or pass --key-fingerprint"))
        if self.verdict == UNPROVEN:
            lines.append("the digests hold, but anyone could have produced this: " + "; ".join(self.unproven))
        if self.proven_times:
            lines.append("time proven by a trusted time-stamp authority: " + "; ".join(self.proven_times))
        else:
            lines.append("time of capture only claimed (no time-stamp from a trusted authority)")
        return lines

    def signed_by(self, fp: str, what: str) -> None:
        if self.signer is None:
            self.signer = fp
        elif self.signer != fp:
            self.problems.append(f"{what}: signed by key {fp}, but the rest by key {self.signer}")


_SIGNATURE_FIELDS = {"hash", "signature", "publicKey", "created", "software"}


def _check_signed(doc: Any, what: str, report: Report, key_fingerprint: str | None, expected_hash: str,
                  claims: dict[str, Any] | None = None) -> None:
    """A signature document {hash, signature, publicKey, created, software}: it must cover
    `expected_hash`. The signature covers only the hash, so `created` and `software` must equal
    `claims`, the same fields of the signed document: nothing in it can change unnoticed."""
    if not isinstance(doc, dict):
        report.problems.append(f"{what}: the signature is not a JSON object")
        return
    if set(doc) != _SIGNATURE_FIELDS:
        report.problems.append(f"{what}: the signature has fields {sorted(doc)}, not {sorted(_SIGNATURE_FIELDS)}")
        return
    for name, value in (claims or {}).items():
        if doc.get(name) != value:
            report.problems.append(f"{what}: the signature's {name!r} {doc.get(name)!r} differs from the signed "
                                   f"document's {value!r} (altered)")
            return
    public = doc.get("publicKey", "")
    if doc.get("hash") != expected_hash:
        report.problems.append(f"{what}: the signature covers {doc.get('hash')!r}, not {expected_hash} (altered)")
        return
    if not isinstance(public, str) or not signing.verify_text(public, expected_hash, str(doc.get("signature", ""))):
        report.problems.append(f"{what}: signature does not verify (altered or forged)")
        return
    fp = signing.fingerprint(public)
    if key_fingerprint and fp != key_fingerprint:
        report.problems.append(f"{what}: signed by key {fp}, not the expected {key_fingerprint}")
        return
    report.pinned = bool(key_fingerprint)
    report.signed_by(fp, what)
    report.facts.append(f"{what}: signature valid (key {fp}; 'created' {doc.get('created', '?')} is a claim)")


def _no_signature(what: str, report: Report, key_fingerprint: str | None) -> None:
    if key_fingerprint:
        report.problems.append(f"{what}: not signed, but a signature by {key_fingerprint} was required")
    else:
        report.unproven.append(f"{what} is not signed")


def _check_token(token: bytes, digest: bytes, what: str, report: Report, trusted: list[x509.Certificate]) -> None:
    result = timestamps.check_token(token, digest, trusted=trusted)
    if not result.ok:
        report.problems.append(f"{what}: time-stamp token does not verify: {result.problem}")
    elif not result.anchored:
        report.unproven.append(f"{what}: time-stamp token is not anchored: {result.why_not_anchored} "
                               f"(it claims {result.time:%Y-%m-%dT%H:%M:%SZ})")
    else:
        report.proven_times.append(f"{what} existed by {result.time:%Y-%m-%dT%H:%M:%SZ} ({result.signer})")
        report.facts.append(f"{what}: time-stamped at {result.time:%Y-%m-%dT%H:%M:%SZ} by a trusted TSA")


def _check_warc_span(fh: BinaryIO, start: int, length: int, label: str, report: Report,
                     known: dict[int, tuple[str, str]] | None = None) -> list[tuple[int, str, str, bool]]:
    """Every record between `start` and `start+length`: (relative offset, sha256 of the member,
    record id, damaged) in file order."""
    members = []
    undigested = []
    for check in check_members(fh, start, start + length):
        rel = check.offset - start
        listed = (known or {}).get(rel, ("?", ""))
        rid = check.headers.get("WARC-Record-ID", listed[0])
        uri = check.headers.get("WARC-Target-URI", listed[1])
        for problem in check.problems:
            report.problems.append(f"{label} @ byte {rel} (record {rid} {uri}): {problem}".replace("  ", " "))
        if check.missing_digests and not check.problems:
            undigested.append(f"@ byte {rel} ({rid}): no {', '.join(check.missing_digests)}")
        members.append((rel, check.member_sha256, check.headers.get("WARC-Record-ID", ""), bool(check.problems)))
    report.facts.append(f"{label}: {len(members)} records checked")
    if undigested:
        shown = "; ".join(undigested[:5]) + (f"; and {len(undigested) - 5} more" if len(undigested) > 5 else "")
        report.facts.append(f"{label}: {len(undigested)} record(s) carry no digest of their own: {shown}")
    return members


def _match_manifest(manifest: Any, members: list[tuple[int, str, str, bool]], label: str, report: Report) -> None:
    """The WARC must hold exactly the manifest's records, in its order, back to back: a removed,
    added, duplicated or reordered record fails."""
    records = manifest.get("records") if isinstance(manifest, dict) else None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        report.problems.append("custody manifest: no list of records")
        return
    by_offset = {m[0]: m for m in members}
    seen_ids: set[str] = set()
    expected_offset = 0
    for rec in records:
        rid, offset = rec.get("record_id"), rec.get("offset")
        if rid in seen_ids:
            report.problems.append(f"custody manifest: record {rid} is listed twice")
        seen_ids.add(str(rid))
        if offset != expected_offset:
            report.problems.append(f"custody manifest: record {rid} is listed at byte {offset}, "
                                   f"but the previous one ends at byte {expected_offset}")
        if isinstance(rec.get("length"), int) and isinstance(offset, int):
            expected_offset = offset + rec["length"]
        actual = by_offset.get(offset) if isinstance(offset, int) else None
        if actual is None:
            report.problems.append(f"custody manifest: record {rid} ({rec.get('uri')}) is not at byte "
                                   f"{offset} of {label} (removed or moved)")
        elif actual[3]:
            pass  # already reported, with its place and what is wrong
        elif actual[1] != rec.get("sha256"):
            report.problems.append(f"custody manifest: record {rid} at byte {offset} of {label} "
                                   f"has sha256 {actual[1]}, the manifest says {rec.get('sha256')}")
        elif actual[2] != rid:
            report.problems.append(f"custody manifest: record at byte {offset} of {label} is {actual[2]}, "
                                   f"the manifest says {rid}")
    listed = {r.get("offset") for r in records}
    for rel, _, rid, _ in members:
        if rel not in listed:
            report.problems.append(f"{label} @ byte {rel} (record {rid}): not listed in the custody manifest "
                                   f"(added or duplicated)")
    items = manifest.get("items", [])
    if isinstance(items, list):
        report.facts.append(f"{len(items)} post(s), exported {manifest.get('exported')} by "
                            f"{manifest.get('software')}, operator {manifest.get('operator')} (claims of the signer)")


def _manifest_claims(manifest: Any) -> dict[str, Any]:
    if not isinstance(manifest, dict):
        return {}
    return {"created": manifest.get("exported"), "software": manifest.get("software")}


def _load_json(raw: bytes, what: str, report: Report) -> Any:
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        report.problems.append(f"{what}: not valid JSON ({exc})")
        return None
    if not isinstance(doc, dict):
        # every bundle document is an object; `null` must not read as "no signature here"
        report.problems.append(f"{what}: not a JSON object")
        return None
    return doc


# -- a single WARC file, or a .warc.gz export with its sidecars ------------------------------------
def verify_warc(path: Path, report: Report | None = None, *, key_fingerprint: str | None = None,
                trusted: list[x509.Certificate] | None = None, in_archive: bool = False) -> Report:
    report = report or Report()
    try:
        return _verify_warc(path, report, key_fingerprint, list(trusted or []), in_archive)
    except Exception as exc:  # noqa: BLE001 - whatever the file holds, the answer is a verdict
        report.problems.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")
        return report


def _verify_warc(path: Path, report: Report, key_fingerprint: str | None, trusted: list[x509.Certificate],
                 in_archive: bool) -> Report:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        members = _check_warc_span(fh, 0, size, path.name, report)
    manifest_path = path.with_name(path.name + ".manifest.json")
    sig_path = path.with_name(path.name + ".manifest.sig.json")
    manifest_token = path.with_name(path.name + ".manifest.json.tsr")
    if manifest_path.exists() or sig_path.exists() or manifest_token.exists():
        if not manifest_path.exists():
            report.problems.append(f"{manifest_path.name}: missing, but its signature or token is present (removed?)")
            return report
        if manifest_path.stat().st_size > MAX_DOCUMENT:
            report.problems.append(f"{manifest_path.name}: larger than {MAX_DOCUMENT >> 20} MB; refused")
            return report
        manifest_bytes = manifest_path.read_bytes()
        manifest_hash = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        manifest = _load_json(manifest_bytes, manifest_path.name, report)
        if manifest is not None:
            _match_manifest(manifest, members, path.name, report)
        if sig_path.exists() and sig_path.stat().st_size > MAX_DOCUMENT:
            report.problems.append(f"{sig_path.name}: larger than {MAX_DOCUMENT >> 20} MB; refused")
        elif sig_path.exists():
            sig = _load_json(sig_path.read_bytes(), sig_path.name, report)
            if sig is not None:
                _check_signed(sig, manifest_path.name, report, key_fingerprint, manifest_hash,
                              _manifest_claims(manifest))
        else:
            _no_signature(manifest_path.name, report, key_fingerprint)
        if manifest_token.exists():
            _check_token(manifest_token.read_bytes(), hashlib.sha256(manifest_bytes).digest(), manifest_path.name,
                         report, trusted)
    else:
        if key_fingerprint:
            report.problems.append(f"{path.name}: no signed custody manifest beside it "
                                   f"({manifest_path.name}), but a signature by {key_fingerprint} was required")
        elif not in_archive:
            report.unproven.append(f"{path.name} has no signed custody manifest beside it ({manifest_path.name})")
    token = timestamps.token_path(path)
    if token.exists():
        _check_token(token.read_bytes(), timestamps.sha256_file(path), path.name, report, trusted)
    elif in_archive:
        report.facts.append(f"{path.name}: no time-stamp token (none was requested when it was sealed)")
    return report


# -- a WACZ bundle ---------------------------------------------------------------------------------
def _stored_span(zf: zipfile.ZipFile, fh: BinaryIO, name: str) -> tuple[int, int]:
    """Where a stored entry's bytes are in the zip file (read from its local header), so they can
    be hashed without zipfile's CRC check stopping at the first bad byte before we can say which record."""
    info = zf.getinfo(name)
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise ValueError(f"{name}: no local zip header at byte {info.header_offset}")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    local_name = fh.read(name_len)
    if local_name != info.filename.encode("utf-8") and local_name != info.filename.encode("cp437", "replace"):
        raise ValueError(f"{name}: its local zip header names {local_name[:80]!r}")
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_EOCD = struct.Struct("<4sHHHHIIH")
_PLAIN_ATTRS = (0, 0o600 << 16, (0o100000 | 0o600) << 16, (0o100000 | 0o644) << 16)


def _dos_time(date_time: tuple[int, ...]) -> tuple[int, int]:
    y, mo, d, h, mi, sec = date_time
    return (h << 11) | (mi << 5) | (sec // 2), ((y - 1980) << 9) | (mo << 5) | d


def _only_zip64(extra: bytes) -> bool:
    """A central-directory extra holds one ZIP64 field and nothing else (what zipfile writes)."""
    if len(extra) < 4:
        return False
    tag, size = struct.unpack("<HH", extra[:4])
    return tag == 1 and len(extra) == 4 + size


def _zip64_sizes(extra: bytes) -> tuple[int, int] | None:
    """(uncompressed, compressed) from a ZIP64 extra field, when it has them."""
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack("<HH", extra[i : i + 4])
        if tag == 1 and size >= 16:
            return struct.unpack("<QQ", extra[i + 4 : i + 20])
        i += 4 + size
    return None


def _check_zip_layout(zf: zipfile.ZipFile, fh: BinaryIO, file_size: int, report: Report) -> None:
    """Every byte of the zip belongs to a member, its local header, the central directory or its
    end record, and each local header agrees with the central directory: readers that take an
    entry from either one (pywb reads local headers, ReplayWeb.page the central directory) see
    the same bytes, and no byte can change unnoticed."""
    where = "zip structure"
    pos = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        name = info.filename
        if info.header_offset < 0 or info.header_offset + _LOCAL.size > file_size:
            report.problems.append(f"{where}: {name}: its header offset {info.header_offset} is outside the file")
            return
        if info.header_offset != pos:
            report.problems.append(f"{where}: {name} starts at byte {info.header_offset}, the previous entry "
                                   f"ends at byte {pos} (bytes hidden between, or entries overlap)")
        fh.seek(info.header_offset)
        raw = fh.read(_LOCAL.size)
        if len(raw) < _LOCAL.size:
            report.problems.append(f"{where}: {name}: local header cut off at byte {info.header_offset}")
            return
        sig, ver, flags, method, mtime, mdate, crc, csize, usize, nlen, elen = _LOCAL.unpack(raw)
        local_name, extra = fh.read(nlen), fh.read(elen)
        if csize == 0xFFFFFFFF or usize == 0xFFFFFFFF:
            sizes = _zip64_sizes(extra)
            usize, csize = sizes if sizes else (-1, -1)
        differs = [what for what, ok in (
            ("signature", sig == b"PK\x03\x04"), ("version", ver == info.extract_version),
            ("flags", flags == info.flag_bits and not flags & 0x08), ("method", method == info.compress_type),
            ("time", (mtime, mdate) == _dos_time(info.date_time)), ("CRC", crc == info.CRC),
            ("sizes", (csize, usize) == (info.compress_size, info.file_size)),
            ("name", local_name == name.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
             and info.orig_filename == name),
            # ReplayWeb.page assumes no local extra when the central directory has none, so bytes
            # hidden there would be what it reads: the two must be the same bytes (or the local one
            # empty beside a ZIP64 field that only the central directory needs, for its offset)
            ("extra field", extra == info.extra or (not extra and _only_zip64(info.extra))),
        ) if not ok]
        if info.comment or info.internal_attr or info.volume or info.external_attr not in _PLAIN_ATTRS \
                or info.create_version != info.extract_version or (info.extra and not _only_zip64(info.extra)):
            differs.append("central directory fields")
        if differs:
            report.problems.append(f"{where}: {name} at byte {info.header_offset}: local header and central "
                                   f"directory disagree ({', '.join(differs)})")
        pos = info.header_offset + _LOCAL.size + nlen + elen + info.compress_size
    if pos != zf.start_dir:
        report.problems.append(f"{where}: the central directory starts at byte {zf.start_dir}, the last entry "
                               f"ends at byte {pos}")
    if not _end_records_agree(zf, fh, file_size):
        report.problems.append(f"{where}: the end of the central directory (byte {file_size - _EOCD.size}) "
                               f"does not match the entries (altered, or bytes added)")


_ZIP64_END = struct.Struct("<4sQHHIIQQQQ")
_ZIP64_LOCATOR = struct.Struct("<4sIQI")


def _end_records_agree(zf: zipfile.ZipFile, fh: BinaryIO, file_size: int) -> bool:
    """The end record (and the ZIP64 end record and locator, when present) say exactly where the
    central directory is and how many entries it has: a reader that follows the 32-bit offset
    (ReplayWeb.page does, unless it is 0xFFFFFFFF) must land on the directory zipfile read."""
    eocd_at = file_size - _EOCD.size
    if eocd_at < 0:
        return False
    fh.seek(eocd_at)
    sig, disk, disk_cd, n_disk, n_total, size_cd, offset_cd, clen = _EOCD.unpack(fh.read(_EOCD.size))
    count = len(zf.infolist())
    if sig != b"PK\x05\x06" or disk or disk_cd or clen:
        return False
    locator_at = eocd_at - _ZIP64_LOCATOR.size
    fh.seek(max(0, locator_at))
    locator = fh.read(_ZIP64_LOCATOR.size)
    if locator_at >= 0 and locator[:4] == b"PK\x06\x07":
        end_at = locator_at - _ZIP64_END.size
        lsig, ldisk, lend_at, ldisks = _ZIP64_LOCATOR.unpack(locator)
        if ldisk or ldisks != 1 or lend_at != end_at or end_at < 0:
            return False
        fh.seek(end_at)
        (zsig, zsize, _made, _needed, zdisk, zdisk_cd, zn_disk, zn_total, zsize_cd,
         zoffset_cd) = _ZIP64_END.unpack(fh.read(_ZIP64_END.size))
        if (zsig != b"PK\x06\x06" or zsize != _ZIP64_END.size - 12 or zdisk or zdisk_cd
                or zn_disk != count or zn_total != count or zoffset_cd != zf.start_dir
                or zsize_cd != end_at - zf.start_dir):
            return False
        return (offset_cd in (zf.start_dir, 0xFFFFFFFF) and n_total in (count, 0xFFFF)
                and n_disk == n_total and size_cd in (zsize_cd, 0xFFFFFFFF))
    return (offset_cd == zf.start_dir and n_disk == n_total == count
            and zf.start_dir + size_cd == eocd_at)


MAX_ENTRIES = 64


def _declared_entries(path: Path) -> int | None:
    """How many entries the end record declares, read before zipfile parses (and holds in memory)
    a directory of any size; None when there is no plain end record (zipfile then says why)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            if size < _EOCD.size:
                return None
            fh.seek(size - _EOCD.size)
            sig, _d, _dc, _n_disk, n_total, _s, _o, _c = _EOCD.unpack(fh.read(_EOCD.size))
            if sig != b"PK\x05\x06":
                return None
            if n_total == 0xFFFF and size >= _EOCD.size + _ZIP64_LOCATOR.size:
                fh.seek(size - _EOCD.size - _ZIP64_LOCATOR.size)
                lsig, _ld, end_at, _lt = _ZIP64_LOCATOR.unpack(fh.read(_ZIP64_LOCATOR.size))
                if lsig == b"PK\x06\x07" and 0 <= end_at < size:
                    fh.seek(end_at)
                    raw = fh.read(_ZIP64_END.size)
                    if len(raw) == _ZIP64_END.size:
                        return int(_ZIP64_END.unpack(raw)[7])
            return int(n_total)
    except OSError:
        return None


def _read_small(zf: zipfile.ZipFile, name: str, report: Report) -> bytes | None:
    info = zf.getinfo(name)
    if info.file_size > MAX_DOCUMENT:
        report.problems.append(f"{name}: {info.file_size} bytes, more than the {MAX_DOCUMENT >> 20} MB a "
                               f"bundle document may have; refused unread")
        return None
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_DOCUMENT + 1)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        report.problems.append(f"{name}: unreadable in the zip ({exc})")
        return None
    if len(data) > MAX_DOCUMENT:
        report.problems.append(f"{name}: larger than its zip header says; refused")
        return None
    return data


def verify_wacz(path: Path, *, key_fingerprint: str | None = None,
                trusted: list[x509.Certificate] | None = None) -> Report:
    report = Report()
    entries = _declared_entries(path)
    if entries is not None and entries > MAX_ENTRIES:
        report.problems.append(f"{path.name}: its zip directory declares {entries} entries; a WACZ has a "
                               f"handful (at most {MAX_ENTRIES} accepted); refused unread")
        return report
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        report.problems.append(f"{path.name}: not a readable WACZ (zip) file: {exc}")
        return report
    try:
        with zf, open(path, "rb") as fh:
            _verify_wacz(zf, fh, report, key_fingerprint, list(trusted or []))
    except Exception as exc:  # noqa: BLE001 - whatever the upload holds, the answer is a verdict
        report.problems.append(f"{path.name}: unreadable ({type(exc).__name__}: {exc})")
    return report


def _verify_wacz(zf: zipfile.ZipFile, fh: BinaryIO, report: Report, key_fingerprint: str | None,
                 trusted: list[x509.Certificate]) -> None:
    infos = zf.infolist()
    names = [i.filename for i in infos]
    for name in sorted(n for n, seen in Counter(names).items() if seen > 1):
        report.problems.append(f"{name}: appears more than once in the zip (readers would disagree on which)")
    fh.seek(0, 2)
    _check_zip_layout(zf, fh, fh.tell(), report)
    if report.problems:
        return  # entries that overlap or hide bytes: which bytes are "the" member is not defined
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            report.problems.append(f"{info.filename}: compressed inside the WACZ; WACZ requires it stored "
                                   f"(refused unread)")
    for required in _REQUIRED:
        if required not in names:
            report.problems.append(f"{required}: missing from the bundle")
    if report.problems:
        return
    package_bytes = _read_small(zf, "datapackage.json", report)
    digest_raw = _read_small(zf, "datapackage-digest.json", report)
    if package_bytes is None or digest_raw is None:
        return
    digest_doc = _load_json(digest_raw, "datapackage-digest.json", report)
    package = _load_json(package_bytes, "datapackage.json", report)
    if not isinstance(digest_doc, dict) or not isinstance(package, dict):
        if digest_doc is not None and package is not None:
            report.problems.append("datapackage.json or datapackage-digest.json is not a JSON object")
        return
    package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    if digest_doc.get("hash") != package_hash or digest_doc.get("path", "datapackage.json") != "datapackage.json":
        report.problems.append("datapackage.json: altered (its hash differs from datapackage-digest.json)")
    # The datapackage lists the hash of every other member, so its signature binds them all.
    if set(digest_doc) - {"path", "hash", "signedData"}:
        report.problems.append(f"datapackage-digest.json: unexpected fields {sorted(set(digest_doc) - {'path', 'hash', 'signedData'})}")
    if digest_doc.get("signedData"):
        _check_signed(digest_doc["signedData"], "datapackage-digest.json", report, key_fingerprint, package_hash,
                      {"created": package.get("created"), "software": package.get("software")})
    else:
        _no_signature("the bundle (datapackage-digest.json)", report, key_fingerprint)

    resources = package.get("resources")
    if not isinstance(resources, list) or not all(isinstance(r, dict) and isinstance(r.get("path"), str)
                                                  for r in resources):
        report.problems.append("datapackage.json: no list of resources")
        return
    listed: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if resource["path"] in listed:
            report.problems.append(f"{resource['path']}: listed twice in datapackage.json")
        listed[resource["path"]] = resource
    for required in _REQUIRED[2:]:
        if required not in listed:
            report.problems.append(f"{required}: present but not listed in datapackage.json")
    for name in sorted(set(names) - {"datapackage.json", "datapackage-digest.json"} - set(listed)):
        report.problems.append(f"{name}: present but not listed in datapackage.json")
    for name, resource in sorted(listed.items()):
        if name not in names:
            report.problems.append(f"{name}: listed in datapackage.json but missing (removed?)")
            continue
        start, size = _stored_span(zf, fh, name)
        fh.seek(start)
        h = hashlib.sha256()
        crc = 0
        remaining = size
        while remaining:
            chunk = fh.read(min(8 << 20, remaining))
            if not chunk:
                break
            h.update(chunk)
            crc = zlib.crc32(chunk, crc)
            remaining -= len(chunk)
        if crc != zf.getinfo(name).CRC and not remaining:
            report.problems.append(f"{name}: its bytes do not match the CRC in the zip headers")
        if remaining or f"sha256:{h.hexdigest()}" != resource.get("hash") or size != resource.get("bytes"):
            report.problems.append(f"{name}: content differs from its hash in datapackage.json")

    manifest_bytes = _read_small(zf, "custody/manifest.json", report)
    if manifest_bytes is None:
        return
    manifest = _load_json(manifest_bytes, "custody/manifest.json", report)
    manifest_hash = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    records = manifest.get("records", []) if isinstance(manifest, dict) else []
    known = {r["offset"]: (r.get("record_id", "?"), r.get("uri", "")) for r in records
             if isinstance(r, dict) and isinstance(r.get("offset"), int)} if isinstance(records, list) else {}
    start, size = _stored_span(zf, fh, "archive/data.warc.gz")
    members = _check_warc_span(fh, start, size, "archive/data.warc.gz", report, known)
    if manifest is not None:
        _match_manifest(manifest, members, "archive/data.warc.gz", report)
    if "custody/manifest.sig.json" in names:
        raw = _read_small(zf, "custody/manifest.sig.json", report)
        sig = _load_json(raw, "custody/manifest.sig.json", report) if raw is not None else None
        if sig is not None:
            if isinstance(sig, dict) and sig.get("hash") != manifest_hash:
                report.problems.append("custody/manifest.json: altered after it was signed")
            else:
                _check_signed(sig, "custody/manifest.json", report, key_fingerprint, manifest_hash,
                              _manifest_claims(manifest))
    else:
        _no_signature("custody/manifest.json", report, key_fingerprint)
    if "custody/manifest.json.tsr" in names:
        token = _read_small(zf, "custody/manifest.json.tsr", report)
        if token is not None:
            _check_token(token, hashlib.sha256(manifest_bytes).digest(), "custody manifest", report, trusted)
    else:
        report.facts.append("custody manifest has no RFC 3161 time-stamp (no TSA was configured)")


# -- a data directory ------------------------------------------------------------------------------
def verify_archive(warcs_dir: Path, catalog_digests: dict[str, str | None], *,
                   trusted: list[x509.Certificate] | None = None) -> Report:
    """Every WARC file of a data directory, and each one against the digest the catalog recorded.
    Nothing in a data directory is signed (the catalog is as writable as the files), so the best it
    can be is intact: export and sign to prove it."""
    report = Report()
    files = sorted(warcs_dir.glob("*.warc.gz"))
    if not files:
        report.problems.append(f"{warcs_dir}: no WARC files")
    for path in files:
        verify_warc(path, report, trusted=trusted, in_archive=True)
        expected = catalog_digests.get(path.name)
        if expected:
            actual = timestamps.sha256_file(path).hex()
            if actual != expected:
                report.problems.append(f"{path.name}: sha256 {actual} differs from the {expected} recorded when sealed")
    for name in sorted(set(catalog_digests) - {p.name for p in files}):
        report.problems.append(f"{name}: in the catalog but missing from {warcs_dir}")
    for path in sorted(warcs_dir.glob("*.open")):
        report.facts.append(f"{path.name}: still open (being written, or run `tawthiq recover`)")
    report.unproven.append("a data directory is not signed (the files and the catalog are as this machine holds "
                           "them; export to get a signed bundle)")
    return report
