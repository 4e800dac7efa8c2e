"""`tawthiq verify`: recompute every digest of a WACZ, a WARC file or a whole archive, check
signatures and time-stamp tokens, and report one line per problem with where it is.

Works offline and needs nothing from the machine that made the files: the public key and the
tokens travel inside the bundle (pin the key with --key-fingerprint to check *who* signed).
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from archivers import signing, timestamps
from archivers.integrity import check_members


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _stored_span(zf: zipfile.ZipFile, fh, name: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """Where a stored (uncompressed) entry's bytes are in the zip file, so they can be read
    without zipfile's CRC check stopping at the first bad byte before we can say which record."""
    info = zf.getinfo(name)
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{name} is compressed inside the WACZ; WACZ requires it stored")
    fh.seek(info.header_offset)
    header = fh.read(30)
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def _check_warc_span(fh, start: int, length: int, label: str, report: Report,  # type: ignore[no-untyped-def]
                     known: dict[int, tuple[str, str]] | None = None) -> dict[int, str]:
    member_hashes: dict[int, str] = {}
    count = 0
    for check in check_members(fh, start, start + length):
        count += 1
        member_hashes[check.offset - start] = check.member_sha256
        rel = check.offset - start
        for problem in check.problems:
            listed = (known or {}).get(rel, ("?", ""))
            rid = check.headers.get("WARC-Record-ID", listed[0])
            uri = check.headers.get("WARC-Target-URI", listed[1])
            report.problems.append(f"{label} @ byte {rel} (record {rid} {uri}): {problem}".replace("  ", " "))
    report.facts.append(f"{label}: {count} records checked")
    return member_hashes


def verify_warc(path: Path, report: Report | None = None, *, tsa_certificate: bytes | None = None) -> Report:
    report = report or Report()
    with open(path, "rb") as fh:
        _check_warc_span(fh, 0, path.stat().st_size, path.name, report)
    token = timestamps.token_path(path)
    if token.exists():
        result = timestamps.check_token(token.read_bytes(), timestamps.sha256_file(path), certificate=tsa_certificate)
        if result.ok:
            report.facts.append(f"{path.name}: time-stamped by its TSA at {result.time:%Y-%m-%dT%H:%M:%SZ}")
        else:
            report.problems.append(f"{token.name}: time-stamp token does not verify for {path.name}: {result.problem}")
    else:
        report.facts.append(f"{path.name}: no time-stamp token (none was requested when it was sealed)")
    return report


def _check_signed(doc: dict, what: str, report: Report, key_fingerprint: str | None) -> None:
    public = doc.get("publicKey", "")
    if not signing.verify_text(public, doc.get("hash", ""), doc.get("signature", "")):
        report.problems.append(f"{what}: signature does not verify")
        return
    fp = signing.fingerprint(public)
    if key_fingerprint and fp != key_fingerprint:
        report.problems.append(f"{what}: signed by key {fp}, not the expected {key_fingerprint}")
        return
    report.facts.append(f"{what}: signature valid (key {fp}, {doc.get('created', '?')})")


def verify_wacz(path: Path, *, key_fingerprint: str | None = None, tsa_certificate: bytes | None = None) -> Report:
    report = Report()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        report.problems.append(f"{path.name}: not a readable WACZ (zip) file: {exc}")
        return report
    with zf, open(path, "rb") as fh:
        names = set(zf.namelist())
        for required in ("datapackage.json", "datapackage-digest.json", "archive/data.warc.gz",
                         "custody/manifest.json"):
            if required not in names:
                report.problems.append(f"{required}: missing from the bundle")
        if report.problems:
            return report
        package_bytes = zf.read("datapackage.json")
        digest_doc = json.loads(zf.read("datapackage-digest.json"))
        package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
        if digest_doc.get("hash") != package_hash:
            report.problems.append("datapackage.json: altered (its hash differs from datapackage-digest.json)")
        signed = digest_doc.get("signedData")
        if signed:
            if signed.get("hash") != digest_doc.get("hash"):
                report.problems.append("datapackage-digest.json: signedData covers a different hash")
            _check_signed(signed, "datapackage-digest.json", report, key_fingerprint)
        else:
            report.facts.append("bundle is not signed")
        package = json.loads(package_bytes)
        listed = {r["path"]: r for r in package.get("resources", [])}
        for name in sorted(names - {"datapackage.json", "datapackage-digest.json"}):
            if name not in listed:
                report.problems.append(f"{name}: present but not listed in datapackage.json")
        for name, resource in sorted(listed.items()):
            if name not in names:
                report.problems.append(f"{name}: listed in datapackage.json but missing (removed?)")
                continue
            start, size = _stored_span(zf, fh, name)
            fh.seek(start)
            h = hashlib.sha256()
            remaining = size
            while remaining:
                chunk = fh.read(min(8 << 20, remaining))
                h.update(chunk)
                remaining -= len(chunk)
            if f"sha256:{h.hexdigest()}" != resource.get("hash") or size != resource.get("bytes"):
                report.problems.append(f"{name}: content differs from its hash in datapackage.json")

        manifest_bytes = zf.read("custody/manifest.json")
        manifest = json.loads(manifest_bytes)
        known = {r["offset"]: (r["record_id"], r["uri"]) for r in manifest.get("records", [])}
        start, size = _stored_span(zf, fh, "archive/data.warc.gz")
        before = len(report.problems)
        members = _check_warc_span(fh, start, size, "archive/data.warc.gz", report, known)
        damaged = {int(p.split("@ byte ", 1)[1].split(" ", 1)[0]) for p in report.problems[before:]
                   if "@ byte " in p}

        manifest_hash = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        seen_offsets = set()
        for rec in manifest.get("records", []):
            seen_offsets.add(rec["offset"])
            actual = members.get(rec["offset"])
            if actual is None:
                report.problems.append(f"custody manifest: record {rec['record_id']} ({rec['uri']}) is not at byte "
                                       f"{rec['offset']} of archive/data.warc.gz (removed or moved)")
            elif rec["offset"] in damaged:
                pass  # already reported above, with its place and what is wrong
            elif actual != rec["sha256"]:
                report.problems.append(f"custody manifest: record {rec['record_id']} at byte {rec['offset']} "
                                       f"has sha256 {actual}, the manifest says {rec['sha256']}")
        for offset in sorted(set(members) - seen_offsets):
            report.problems.append(f"archive/data.warc.gz @ byte {offset}: record not listed in the custody manifest")
        if "custody/manifest.sig.json" in names:
            sig = json.loads(zf.read("custody/manifest.sig.json"))
            if sig.get("hash") != manifest_hash:
                report.problems.append("custody/manifest.json: altered after it was signed")
            else:
                _check_signed(sig, "custody/manifest.json", report, key_fingerprint)
        else:
            report.facts.append("custody manifest is not signed")
        if "custody/manifest.json.tsr" in names:
            result = timestamps.check_token(zf.read("custody/manifest.json.tsr"),
                                            hashlib.sha256(manifest_bytes).digest(), certificate=tsa_certificate)
            if result.ok:
                report.facts.append(f"custody manifest time-stamped at {result.time:%Y-%m-%dT%H:%M:%SZ}")
            else:
                report.problems.append(f"custody/manifest.json.tsr: does not verify: {result.problem}")
        else:
            report.facts.append("custody manifest has no RFC 3161 time-stamp (no TSA was configured)")
        report.facts.append(f"{len(manifest.get('items', []))} post(s), exported {manifest.get('exported')} "
                            f"by {manifest.get('software')}, operator {manifest.get('operator')}")
    return report


def verify_archive(warcs_dir: Path, catalog_digests: dict[str, str | None], *,
                   tsa_certificate: bytes | None = None) -> Report:
    """Every WARC file of a data directory, and each one against the digest the catalog recorded."""
    report = Report()
    files = sorted(warcs_dir.glob("*.warc.gz"))
    if not files:
        report.problems.append(f"{warcs_dir}: no WARC files")
    for path in files:
        verify_warc(path, report, tsa_certificate=tsa_certificate)
        expected = catalog_digests.get(path.name)
        if expected:
            actual = timestamps.sha256_file(path).hex()
            if actual != expected:
                report.problems.append(f"{path.name}: sha256 {actual} differs from the {expected} recorded when sealed")
    for name in sorted(set(catalog_digests) - {p.name for p in files}):
        report.problems.append(f"{name}: in the catalog but missing from {warcs_dir}")
    for path in sorted(warcs_dir.glob("*.open")):
        report.facts.append(f"{path.name}: still open (being written, or run `tawthiq recover`)")
    return report
