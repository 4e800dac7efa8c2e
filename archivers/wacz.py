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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from archivers import signing, timestamps

WACZ_VERSION = "1.1.1"
_BUF = 8 << 20


class Ref(Protocol):
    record_id: str
    rec_type: str
    uri: str
    date: str
    file: str
    offset: int
    length: int


class ExportItem(Protocol):
    platform: str
    post_id: str
    url: str
    captured: str
    text: str
    published: str | None
    records: list[Any]


class ExportError(ValueError):
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


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_BUF):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def copy_records(refs: Iterable[Ref], warcs_dir: Path, out_path: Path) -> dict[str, dict[str, Any]]:
    """Concatenate the records' gzip members into one file; returns where each one landed."""
    placed: dict[str, dict[str, Any]] = {}
    handles: dict[str, Any] = {}
    try:
        with open(out_path, "wb") as out:
            for ref in refs:
                src = handles.get(ref.file)
                if src is None:
                    path = warcs_dir / ref.file
                    if not path.exists():
                        raise ExportError(f"source WARC file {ref.file} is missing from {warcs_dir}")
                    src = handles[ref.file] = open(path, "rb")
                src.seek(ref.offset)
                offset = out.tell()
                h = hashlib.sha256()
                remaining = ref.length
                while remaining:
                    chunk = src.read(min(_BUF, remaining))
                    if not chunk:
                        raise ExportError(f"{ref.file} ends before record {ref.record_id} at {ref.offset}")
                    h.update(chunk)
                    out.write(chunk)
                    remaining -= len(chunk)
                placed[ref.record_id] = {
                    "record_id": ref.record_id, "type": ref.rec_type, "uri": ref.uri, "date": ref.date,
                    "sha256": h.hexdigest(), "length": ref.length, "offset": offset,
                    "source_file": ref.file, "source_offset": ref.offset,
                }
    finally:
        for fh in handles.values():
            fh.close()
    return placed


def _pages(items: list[ExportItem]) -> bytes:
    lines = [{"format": "json-pages-1.0", "id": "pages", "title": "Exported posts", "hasText": True}]
    for item in items:
        title = (item.text.strip().splitlines() or [item.url])[0][:120]
        lines.append({"id": item.post_id, "url": item.url, "ts": item.captured, "title": title, "text": item.text})
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
    refs: list[Ref],
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
) -> ExportResult:
    output = Path(output)
    if output.exists() and output.is_dir():
        raise ExportError(f"{output} is a folder; give a file name")
    output.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    notes: list[str] = []
    try:
        data = work / "data.warc.gz"
        placed = copy_records(refs, warcs_dir, data)
        manifest = _manifest(selection, items, placed, software, operator, source_files)
        manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
        manifest_hash = "sha256:" + hashlib.sha256(manifest_bytes).hexdigest()
        key = signing.load_key(key_home) if key_home is not None else None
        sig_doc = None
        if key is not None:
            sig_doc = {"hash": manifest_hash, "signature": signing.sign_text(key, manifest_hash),
                       "publicKey": signing.public_key_b64(key), "created": _now(), "software": software}
        else:
            notes.append("not signed: no signing key (create one with `tawthiq keys create`)")
        token = None
        if tsa_url:
            token = timestamps.request_token(tsa_url, hashlib.sha256(manifest_bytes).digest())
        else:
            notes.append("no RFC 3161 time-stamp: no time-stamp authority configured (setting tsa_url)")
        if fmt == "warc":
            final_tmp = work / "out.warc.gz"
            os.replace(data, final_tmp)
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
            _write_wacz(work, data, items, manifest_bytes, sig_doc, token, key, software, output)
        size = output.stat().st_size
        return ExportResult(output, len(placed), size, manifest_hash, key is not None, token is not None, notes)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _write_wacz(work: Path, data: Path, items: list[ExportItem], manifest_bytes: bytes, sig_doc: dict | None,
                token: bytes | None, key: Any, software: str, output: Path) -> None:
    from cdxj_indexer.main import write_cdx_index

    index = work / "index.cdxj"
    write_cdx_index(str(index), [str(data)], {"sort": True, "post_append": True, "filename": "data.warc.gz"})
    entries: list[tuple[str, Path]] = [("archive/data.warc.gz", data), ("indexes/index.cdx", index)]
    small: dict[str, bytes] = {"pages/pages.jsonl": _pages(items), "custody/manifest.json": manifest_bytes}
    if sig_doc:
        small["custody/manifest.sig.json"] = json.dumps(sig_doc, indent=1).encode("utf-8")
    if token:
        small["custody/manifest.json.tsr"] = token
    for name, content in small.items():
        path = work / name.replace("/", "__")
        path.write_bytes(content)
        entries.append((name, path))
    resources = []
    for name, path in entries:
        digest, size = _sha256_file(path)
        resources.append({"name": Path(name).name, "path": name, "hash": f"sha256:{digest}", "bytes": size})
    first = items[0] if items else None
    package = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": f"tawthiq export of {len(items)} post(s)",
        "created": _now(),
        "modified": _now(),
        "software": software,
        "resources": resources,
    }
    if first is not None:
        package["mainPageUrl"] = first.url
        package["mainPageDate"] = first.captured
    package_bytes = json.dumps(package, ensure_ascii=False, indent=1).encode("utf-8")
    package_hash = "sha256:" + hashlib.sha256(package_bytes).hexdigest()
    digest_doc: dict[str, Any] = {"path": "datapackage.json", "hash": package_hash}
    if key is not None:
        digest_doc["signedData"] = {
            "hash": package_hash, "signature": signing.sign_text(key, package_hash),
            "publicKey": signing.public_key_b64(key), "created": package["created"], "software": software,
        }
    tmp_zip = work / "bundle.wacz"
    with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, path in entries:
            zf.write(path, name)
        zf.writestr("datapackage.json", package_bytes)
        zf.writestr("datapackage-digest.json", json.dumps(digest_doc, indent=1).encode("utf-8"))
    with open(tmp_zip, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp_zip, output)
