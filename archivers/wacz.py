"""Export selected records as a WACZ 1.1.1 bundle (or a plain .warc.gz), with a custody manifest.

Records are copied byte for byte, gzip member by gzip member, from the source WARC files: never
re-serialised, so every original digest stays valid. Everything streams through fixed-size
buffers, and the bundle is built under a temporary name and renamed only when complete, so an
interrupted export never leaves a file that looks finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from tawthiq.errors import UserError
from tawthiq.archivers import signing, timestamps

WACZ_VERSION = "1.1.1"
_BUF = 8 << 20


@dataclass(frozen=True)
class RecordRef:
    """One record to copy into an export: where it is, and what the index needs to know of it."""

    record_id: str
    rec_type: str
    uri: str
    date: str
    file: str
    offset: int
    length: int
    status: int | None = None
    mime: str | None = None
    payload_digest: str | None = None


@dataclass
class ExportItem:
    """One exported post and the records that prove it."""

    platform: str
    post_id: str
    url: str
    captured: str
    text: str
    published: str | None
    records: list[RecordRef] = field(default_factory=list)
    page_record_id: str | None = None  # the response of the page the post was read from


class ExportError(UserError, ValueError):
    """The export cannot be made (a source file missing, a bad output path); nothing is left behind."""


@dataclass
class ExportResult:
    path: Path
    records: int
    bytes: int
    manifest_sha256: str
    signed: bool
    timestamped: bool
    notes: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


Progress = Callable[[int, int], None]  # (bytes copied so far, bytes to copy in all)


def copy_records(refs: Iterable[RecordRef], warcs_dir: Path, out: IO[bytes],
                 progress: Progress | None = None) -> tuple[dict[str, dict[str, Any]], str, int]:
    """Concatenate the records' gzip members into `out` in one pass; returns where each one
    landed, and the SHA-256 and size of everything written (for the datapackage). `progress`
    hears after each record how far the copy has got (the web app's export page shows it)."""
    refs = list(refs)
    total = sum(ref.length for ref in refs)
    placed: dict[str, dict[str, Any]] = {}
    handles: dict[str, Any] = {}
    whole = hashlib.sha256()
    offset = 0
    try:
        for ref in refs:
            src = handles.get(ref.file)
            if src is None:
                path = warcs_dir / ref.file
                if not path.exists():
                    raise ExportError(f"source WARC file {ref.file} is missing from {warcs_dir}")
                src = handles[ref.file] = open(path, "rb")
            src.seek(ref.offset)
            h = hashlib.sha256()
            remaining = ref.length
            while remaining:
                chunk = src.read(min(_BUF, remaining))
                if not chunk:
                    raise ExportError(f"{ref.file} ends before record {ref.record_id} at {ref.offset}")
                h.update(chunk)
                whole.update(chunk)
                out.write(chunk)
                remaining -= len(chunk)
            placed[ref.record_id] = {
                "record_id": ref.record_id, "type": ref.rec_type, "uri": ref.uri, "date": ref.date,
                "sha256": h.hexdigest(), "length": ref.length, "offset": offset,
                "source_file": ref.file, "source_offset": ref.offset,
            }
            offset += ref.length
            if progress is not None:
                progress(offset, total)
    finally:
        for fh in handles.values():
            fh.close()
    return placed, whole.hexdigest(), offset


def cdxj_lines(refs: Iterable[RecordRef], placed: dict[str, dict[str, Any]],
               filename: str = "data.warc.gz") -> bytes:
    """The replay index, built from what the catalog already knows (no second read of the data)."""
    import surt

    lines = []
    for ref in refs:
        if ref.rec_type not in ("response", "revisit", "resource"):
            continue
        where = placed[ref.record_id]
        stamp = "".join(ch for ch in ref.date if ch.isdigit())[:14]
        fields: dict[str, str] = {"url": ref.uri}
        fields["mime"] = "warc/revisit" if ref.rec_type == "revisit" else (ref.mime or "unk")
        if ref.status is not None:
            fields["status"] = str(ref.status)
        elif ref.rec_type == "resource":
            fields["status"] = "200"
        if ref.payload_digest:
            fields["digest"] = ref.payload_digest
        fields.update({"length": str(where["length"]), "offset": str(where["offset"]), "filename": filename})
        try:
            key = surt.surt(ref.uri)
        except Exception:  # noqa: BLE001 - an odd URI still gets a line, keyed as written
            key = ref.uri
        lines.append(f"{key} {stamp} {json.dumps(fields, ensure_ascii=False)}")
    return ("\n".join(sorted(lines)) + ("\n" if lines else "")).encode("utf-8")


def page_record(item: ExportItem) -> RecordRef | None:
    """The captured page a post lives on (a Telegram channel page, a feed's article), the record a
    viewer can open; None when the bundle holds no such response for it.

    A post's own URL (https://t.me/NAME/N) holds only its metadata record, so listing it in
    pages.jsonl gives a page no viewer can open."""
    if item.page_record_id:
        for ref in item.records:
            if ref.record_id == item.page_record_id and ref.rec_type in ("response", "revisit"):
                return ref
        return None
    for ref in item.records:  # an item built without a page id: its first HTML response
        if ref.rec_type in ("response", "revisit") and (ref.mime or "").startswith(("text/html", "application/xhtml")):
            return ref
    return None


def _pages(items: list[ExportItem]) -> bytes:
    """pages.jsonl: one line per post, at the page that holds it, titled with the post's text."""
    lines: list[dict[str, Any]] = [
        {"format": "json-pages-1.0", "id": "pages", "title": "Exported posts", "hasText": True}]
    for item in items:
        page = page_record(item)
        if page is None:
            continue
        title = (item.text.strip().splitlines() or [item.url])[0][:120]
        lines.append({"id": item.post_id, "url": page.uri, "ts": page.date, "title": title, "text": item.text,
                      "post_url": item.url})
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def _manifest(selection: dict[str, Any], items: list[ExportItem], placed: dict[str, dict[str, Any]],
              software: str, operator: str, source_files: dict[str, str | None]) -> dict[str, Any]:
    return {
        "type": "tawthiq-custody-manifest",
        "version": 1,
        "selection": selection,
        "exported": _now(),
        "software": software,
        "operator": operator or "(not set)",
        "source_files": [{"name": n, "sha256": d} for n, d in sorted(source_files.items())],
        "records_file": "archive/data.warc.gz",
        "items": [
            {"platform": it.platform, "post_id": it.post_id, "url": it.url, "captured": it.captured,
             "published": it.published, "records": [placed[r.record_id] for r in it.records if r.record_id in placed]}
            for it in items
        ],
        "records": sorted(placed.values(), key=lambda r: r["offset"]),
    }


def export(
    *,
    refs: list[RecordRef],
    items: list[ExportItem],
    selection: dict[str, Any],
    warcs_dir: Path,
    output: Path,
    fmt: str,
    software: str,
    operator: str,
    source_files: dict[str, str | None],
    key_home: Path | None,
    tsa_url: str | None,
    progress: Progress | None = None,
) -> ExportResult:
    output = Path(output)
    if output.exists() and output.is_dir():
        raise ExportError(f"{output} is a folder; give a file name")
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    notes: list[str] = []
    key = signing.load_key(key_home) if key_home is not None else None
    if key is None:
        notes.append("not signed: no signing key (create one with `tawthiq keys create`)")
    if not tsa_url:
        notes.append("no RFC 3161 time-stamp: no time-stamp authority configured (setting tsa_url)")
    refs = list(refs)
    try:
        if fmt == "warc":
            final_tmp = work / "out.warc.gz"
            with open(final_tmp, "wb") as out:
                placed, _, _ = copy_records(refs, warcs_dir, out, progress)
                out.flush()
                os.fsync(out.fileno())
            manifest_bytes, manifest_hash, sig_doc, token = _custody(
                selection, items, placed, software, operator, source_files, key, tsa_url)
            sidecars = {".manifest.json": manifest_bytes}
            if sig_doc:
                sidecars[".manifest.sig.json"] = json.dumps(sig_doc, indent=1).encode()
            if token:
                sidecars[".manifest.json.tsr"] = token
            for suffix, content in sidecars.items():
                (work / ("out" + suffix)).write_bytes(content)
            for suffix in sidecars:
                os.replace(work / ("out" + suffix), output.with_name(output.name + suffix))
            os.replace(final_tmp, output)
        else:
            placed, manifest_hash, token = _write_wacz(
                work, refs, items, warcs_dir, selection, software, operator, source_files, key, tsa_url, output,
                progress)
        return ExportResult(output, len(placed), output.stat().st_size, manifest_hash, key is not None,
                            token is not None, notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _custody(selection: dict[str, Any], items: list[ExportItem], placed: dict[str, dict[str, Any]], software: str,
             operator: str, source_files: dict[str, str | None], key: Any,
             tsa_url: str | None) -> tuple[bytes, str, dict | None, bytes | None]:
    """The custody manifest, its signature and its time-stamp token."""
    manifest = _manifest(selection, items, placed, software, operator, source_files)
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    manifest_hash = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
    sig_doc = None
    if key is not None:
        # created and software repeat the manifest's, so the verifier can hold them to what is signed
        sig_doc = {"hash": manifest_hash, "signature": signing.sign_text(key, manifest_hash),
                   "publicKey": signing.public_key_b64(key), "created": manifest["exported"], "software": software}
    token = timestamps.request_token(tsa_url, hashlib.sha256(manifest_bytes).digest()) if tsa_url else None
    return manifest_bytes, manifest_hash, sig_doc, token


def _warc_member_info() -> zipfile.ZipInfo:
    """The zip entry of the WARC data, declared with size 0 so that zipfile decides on zip64 from
    `force_zip64` alone.

    Why it matters: a zip64 extra field written in the local header but not in the central
    directory (what `force_zip64=True` does below 4 GiB) makes the two disagree on where the data
    starts. pywb and `wacz validate` read the local header and cope; ReplayWeb.page takes the
    offset from the central directory when its entry has no extra field and then reads every
    record 20 bytes early ("Archived Page Not Found"). So zip64 is forced only when the data is
    larger than the zip32 limit, and then the central directory carries the same 20-byte extra.
    """
    info = zipfile.ZipInfo("archive/data.warc.gz", date_time=datetime.now(timezone.utc).timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o600 << 16  # what zf.open(name) would give it
    info.file_size = 0
    return info


def _write_wacz(work: Path, refs: list[RecordRef], items: list[ExportItem], warcs_dir: Path, selection: dict[str, Any],
                software: str, operator: str, source_files: dict[str, str | None], key: Any, tsa_url: str | None,
                output: Path, progress: Progress | None = None) -> tuple[dict[str, dict[str, Any]], str, bytes | None]:
    """One pass over the records: they stream from the source files straight into the zip."""
    tmp_zip = work / "bundle.wacz"
    resources: list[dict[str, Any]] = []
    with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        total = sum(ref.length for ref in refs)
        with zf.open(_warc_member_info(), "w", force_zip64=total > zipfile.ZIP64_LIMIT) as dst:
            placed, data_sha, data_size = copy_records(refs, warcs_dir, dst, progress)
        resources.append({"name": "data.warc.gz", "path": "archive/data.warc.gz", "hash": f"sha256:{data_sha}",
                          "bytes": data_size})
        manifest_bytes, manifest_hash, sig_doc, token = _custody(
            selection, items, placed, software, operator, source_files, key, tsa_url)
        small: dict[str, bytes] = {
            "indexes/index.cdx": cdxj_lines(refs, placed),  # CDXJ lines, named as the WACZ spec and pywb expect
            "pages/pages.jsonl": _pages(items),
            "custody/manifest.json": manifest_bytes,
        }
        if sig_doc:
            small["custody/manifest.sig.json"] = json.dumps(sig_doc, indent=1).encode("utf-8")
        if token:
            small["custody/manifest.json.tsr"] = token
        for name, content in small.items():
            zf.writestr(name, content)
            resources.append({"name": Path(name).name, "path": name,
                              "hash": "sha256:" + hashlib.sha256(content).hexdigest(), "bytes": len(content)})
        first = next((page_record(it) for it in items if page_record(it) is not None), None)
        package: dict[str, Any] = {
            "profile": "data-package",
            "wacz_version": WACZ_VERSION,
            "title": f"tawthiq export of {len(items)} post(s)",
            "created": _now(),
            "modified": _now(),
            "software": software,
            "resources": resources,
        }
        if first is not None:
            package["mainPageUrl"] = first.uri
            package["mainPageDate"] = first.date
        package_bytes = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
        package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
        digest_doc: dict[str, Any] = {"path": "datapackage.json", "hash": package_hash}
        if key is not None:
            digest_doc["signedData"] = {
                "hash": package_hash, "signature": signing.sign_text(key, package_hash),
                "publicKey": signing.public_key_b64(key), "created": package["created"], "software": software,
            }
        zf.writestr("datapackage.json", package_bytes)
        zf.writestr("datapackage-digest.json", json.dumps(digest_doc, indent=1).encode("utf-8"))
    with open(tmp_zip, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp_zip, output)
    return placed, manifest_hash, token
