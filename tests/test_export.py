"""Export and verify: WACZ bundles that tools accept, byte-identical records, tamper detection,
signatures and RFC 3161 time-stamps from a local TSA."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import Demo, run_tawthiq
from tests.local_tsa import LocalTSA
from tests.ports import free_port, wait_for_port
from tests.zip_layout import entries as zip_entries


@pytest.fixture
def corpus(demo: Demo, data_dir: Path) -> Demo:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}", f"feed:{demo.server.url('/feed.xml')}"],
                         data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    return demo


@pytest.fixture
def tsa() -> Iterator[LocalTSA]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed")
    authority = LocalTSA()
    yield authority
    authority.stop()


def _export(data_dir: Path, out: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return run_tawthiq(["export", "-o", str(out), *args], data_dir=data_dir, env=env)


def _member_bytes(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(length)


def test_export_is_a_valid_wacz_with_records_copied_byte_for_byte(corpus: Demo, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.wacz"
    result = _export(data_dir, out, "--source", corpus.channel.name)
    assert result.code == 0, result.out + result.err
    assert "not signed" not in result.out and "no RFC 3161 time-stamp" in result.out

    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(out)], capture_output=True, text=True)
    assert check.returncode == 0 and "valid" in check.stdout, check.stdout + check.stderr

    assert_viewers_agree_on_offsets(out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
        data = zf.read("archive/data.warc.gz")
        manifest = json.loads(zf.read("custody/manifest.json"))
        pages = [json.loads(line) for line in zf.read("pages/pages.jsonl").decode().splitlines()]
        index = zf.read("indexes/index.cdx").decode()  # CDXJ lines, named as the WACZ spec and pywb expect
    assert len(manifest["items"]) == 25
    assert pages[0]["format"] == "json-pages-1.0" and len(pages) == 26
    assert any("استشهد الشاب سامر المثالي" in p.get("text", "") for p in pages)
    responses = {(r["uri"], r["date"]) for r in manifest["records"] if r["type"] == "response"}
    for listed in pages[1:]:  # each page a viewer lists opens: the channel page that holds the post
        assert (listed["url"], listed["ts"]) in responses, listed
        assert listed["url"].startswith(f"{corpus.server.base_url}/s/{corpus.channel.name}"), listed
        assert listed["post_url"] != listed["url"] and listed["title"]
    for rec in manifest["records"]:
        source = _member_bytes(data_dir / "warcs" / rec["source_file"], rec["source_offset"], rec["length"])
        assert data[rec["offset"] : rec["offset"] + rec["length"]] == source  # never re-serialised
    kinds = {r["type"] for r in manifest["records"]}
    assert {"warcinfo", "response", "request", "metadata"} <= kinds
    item = next(i for i in manifest["items"] if i["post_id"].endswith("/101"))
    uris = {r["uri"] for r in item["records"]}
    assert any(u.endswith("/file/bulletin-101.jpg") for u in uris)  # the post's photo came along
    assert f"{corpus.server.base_url}/s/{corpus.channel.name}" in {r["uri"].split("?")[0] for r in item["records"]}
    assert "/file/bulletin-101.jpg" in index

    verified = run_tawthiq(["verify", str(out)])
    assert verified.code == 0 and "VERIFIED" in verified.out, verified.out
    assert verified.out.count("signature valid") == 2


def assert_viewers_agree_on_offsets(path: Path) -> None:
    """Every entry's local header and central-directory record agree, so a viewer that trusts the
    central directory (ReplayWeb.page) reads the same bytes as one that reads local headers (pywb)."""
    found = zip_entries(path)
    assert found, "no entries"
    for entry in found:
        assert entry.local_name == entry.name
        assert entry.local_extra == entry.central_extra, entry  # below 4 GiB: no zip64 extra anywhere
        assert entry.viewer_offset == entry.data_offset, (
            f"{entry.name}: ReplayWeb.page would read from {entry.viewer_offset}, the data starts at "
            f"{entry.data_offset} (local extra {entry.local_extra}, central extra {entry.central_extra})")


def _tiny_warc(warcs: Path, pages: int) -> list:  # type: ignore[type-arg]
    """A WARC of `pages` small responses written with warcio, and the export refs for its records."""
    from io import BytesIO

    from warcio.archiveiterator import ArchiveIterator
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    from tawthiq.archivers.wacz import RecordRef

    warcs.mkdir(parents=True)
    with open(warcs / "t.warc.gz", "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for n in range(pages):
            head = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(f"http://127.0.0.1/p{n}", "response",
                                                          payload=BytesIO(f"<p>page {n}</p>".encode() * 40),
                                                          http_headers=head))
    refs = []
    with open(warcs / "t.warc.gz", "rb") as fh:
        it = ArchiveIterator(fh)
        for rec in it:
            rec.content_stream().read()
            refs.append((rec.rec_headers.get_header("WARC-Record-ID"), rec.rec_headers.get_header("WARC-Target-URI"),
                         rec.rec_headers.get_header("WARC-Date"), it.get_record_offset()))
        it.read_to_end()
    sizes = [(warcs / "t.warc.gz").stat().st_size]
    out = []
    for i, (rid, uri, date, offset) in enumerate(refs):
        end = refs[i + 1][3] if i + 1 < len(refs) else sizes[0]
        out.append(RecordRef(rid, "response", uri, date, "t.warc.gz", offset, end - offset, 200, "text/html"))
    return out


@pytest.mark.parametrize("zip32_limit", [None, 2000])
def test_zip_headers_agree_below_and_above_the_zip64_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           zip32_limit: int | None) -> None:
    """force_zip64 on a small WARC member put a 20-byte extra in its local header only: ReplayWeb.page
    then read every record 20 bytes early. Above the limit (simulated by lowering zipfile's) zip64
    is needed and both records must carry it."""
    from tawthiq.archivers import wacz

    refs = _tiny_warc(tmp_path / "warcs", 20)
    if zip32_limit is not None:
        assert sum(r.length for r in refs) > zip32_limit
        monkeypatch.setattr(zipfile, "ZIP64_LIMIT", zip32_limit)
    out = tmp_path / "t.wacz"
    wacz.export(refs=refs, items=[], selection={}, warcs_dir=tmp_path / "warcs", output=out, fmt="wacz",
                software="test", operator="", source_files={"t.warc.gz": None}, key_home=None, tsa_url=None)
    warc_entry = next(e for e in zip_entries(out) if e.name == "archive/data.warc.gz")
    assert warc_entry.local_extra == (20 if zip32_limit else 0)
    assert warc_entry.central_extra == warc_entry.local_extra
    for entry in zip_entries(out):
        assert entry.viewer_offset == entry.data_offset, entry
    with zipfile.ZipFile(out) as zf:
        data = zf.read("archive/data.warc.gz")
    assert data == (tmp_path / "warcs" / "t.warc.gz").read_bytes()
    check = subprocess.run([sys.executable, "-m", "wacz", "validate", "-f", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_verify_finds_and_locates_a_flipped_byte(corpus: Demo, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.wacz"
    assert _export(data_dir, out, "--source", corpus.channel.name).code == 0
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("archive/data.warc.gz")
        manifest = json.loads(zf.read("custody/manifest.json"))
    with open(out, "r+b") as fh:
        fh.seek(info.header_offset + 26)
        name_len, extra_len = int.from_bytes(fh.read(2), "little"), int.from_bytes(fh.read(2), "little")
        start = info.header_offset + 30 + name_len + extra_len
        target = max(manifest["records"], key=lambda r: r["length"])  # flip inside the largest record
        pos = start + target["offset"] + target["length"] // 2
        fh.seek(pos)
        byte = fh.read(1)
        fh.seek(pos)
        fh.write(bytes([byte[0] ^ 0x01]))
    result = run_tawthiq(["verify", str(out)])
    assert result.code == 1 and "FAILED" in result.out
    assert f"archive/data.warc.gz @ byte {target['offset']} (record {target['record_id']}" in result.out
    assert "Traceback" not in result.out + result.err


def _rewrite(out: Path, replace: dict[str, bytes]) -> None:
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
    tmp.replace(out)


def test_verify_notices_a_removed_record_and_an_edited_manifest(corpus: Demo, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.wacz"
    assert _export(data_dir, out, "--ids", f"{corpus.channel.name}/101,{corpus.channel.name}/102").code == 0
    with zipfile.ZipFile(out) as zf:
        data = zf.read("archive/data.warc.gz")
        manifest = json.loads(zf.read("custody/manifest.json"))
    victim = manifest["records"][3]
    cut = data[: victim["offset"]] + data[victim["offset"] + victim["length"] :]
    removed = tmp_path / "removed.wacz"
    shutil.copy(out, removed)
    _rewrite(removed, {"archive/data.warc.gz": cut})
    result = run_tawthiq(["verify", str(removed)])
    assert result.code == 1
    assert "archive/data.warc.gz: content differs from its hash in datapackage.json" in result.out
    assert f"record {victim['record_id']}" in result.out

    edited = tmp_path / "edited.wacz"
    shutil.copy(out, edited)
    manifest["items"][0]["url"] = "https://example.org/not-what-was-captured"
    _rewrite(edited, {"custody/manifest.json": json.dumps(manifest).encode()})
    result = run_tawthiq(["verify", str(edited)])
    assert result.code == 1 and "custody/manifest.json: altered after it was signed" in result.out


def test_time_stamps_from_a_local_tsa(tsa: LocalTSA, demo: Demo, data_dir: Path, tmp_path: Path) -> None:
    env = {**demo.env, "TAWTHIQ_TSA_URL": tsa.url}
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=env)
    assert result.code == 0, result.out + result.err
    assert run_tawthiq(["keys", "create"], data_dir=data_dir).code == 0
    warcs = sorted((data_dir / "warcs").glob("*.warc.gz"))
    assert warcs and all((w.parent / (w.name + ".tsr")).exists() for w in warcs)  # one token beside each file
    out = tmp_path / "case.wacz"
    exported = _export(data_dir, out, "--source", demo.channel.name, env=env)
    assert exported.code == 0 and "time-stamp" not in exported.out, exported.out
    trust = ["--tsa-cert", str(tsa.certificate_path)]
    result = run_tawthiq(["verify", str(out), *trust])
    assert result.code == 0 and "VERIFIED" in result.out, result.out
    assert "custody manifest: time-stamped at" in result.out and "time proven by a trusted" in result.out
    # The same token, but its authority is not one the reader trusts: the time is only claimed.
    untrusted = run_tawthiq(["verify", str(out)])
    assert untrusted.code == 3 and "INTACT BUT UNPROVEN" in untrusted.out and "not anchored" in untrusted.out
    # The setting does what the option does.
    setting = run_tawthiq(["verify", str(out)], env={"TAWTHIQ_TSA_CERTIFICATE": str(tsa.certificate_path)})
    assert setting.code == 0, setting.out
    # A data directory is never signed: intact at best, with each file's token checked.
    archive = run_tawthiq(["verify", str(data_dir), *trust])
    assert archive.code == 3 and "time-stamped at" in archive.out and "not signed" in archive.out, archive.out
    # A token covers exactly its file: change the file and the token no longer verifies.
    with open(warcs[0], "ab") as fh:
        fh.write(gzip.compress(b"appended later"))
    archive = run_tawthiq(["verify", str(data_dir), *trust])
    assert archive.code == 1 and "time-stamp token does not verify" in archive.out


def test_plain_warc_export_and_bad_requests(corpus: Demo, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.warc.gz"
    result = _export(data_dir, out, "--since", "2026-10-01", "--until", "2026-10-02", "--format", "warc")
    assert result.code == 0, result.out + result.err
    check = subprocess.run([sys.executable, "-m", "warcio.cli", "check", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    manifest = json.loads((tmp_path / "case.warc.gz.manifest.json").read_text())
    assert manifest["items"] and all(i["published"].startswith(("2026-10-01", "2026-10-02")) for i in manifest["items"])
    verified = run_tawthiq(["verify", str(out)])
    assert verified.code == 0 and "VERIFIED" in verified.out, verified.out  # the signed sidecar manifest

    for args, message in [
        ([], "choose what to export"),
        (["--ids", "nope/1"], "no archived post with id 'nope/1'"),
        (["--since", "yesterday"], "--since: 'yesterday' is not a date"),
        (["--source", "x", "--format", "zip"], "--format must be wacz or warc"),
    ]:
        bad = tmp_path / "bad.wacz"
        res = _export(data_dir, bad, *args)
        assert res.code == 2 and message in res.err and "Traceback" not in res.err, (args, res.err)
        assert not bad.exists()

    (next((data_dir / "warcs").glob("*.warc.gz"))).rename(tmp_path / "moved-away.warc.gz")
    res = _export(data_dir, tmp_path / "broken.wacz", "--source", corpus.channel.name)
    assert res.code == 2 and "is missing from" in res.err
    assert not (tmp_path / "broken.wacz").exists()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]  # nothing half-written left



# pywb pins an old redis client (through fakeredis) that the capture queue's cannot live with, so
# the Makefile installs it into a virtualenv of its own: .venv-pywb.
PYWB_BIN = Path(__file__).resolve().parent.parent / ".venv-pywb" / "bin"


needs_pywb = pytest.mark.skipif(not (PYWB_BIN / "wb-manager").exists(),
                                reason="pywb not installed (make test installs it in .venv-pywb)")


@contextmanager
def pywb_replaying(bundle: Path, tmp_path: Path) -> Iterator[str]:
    """pywb serving `bundle` (unpacked, as `wb-manager add --unpack-wacz` does); yields the
    replay prefix to put before an archived URL."""
    site = tmp_path / "pywb"
    site.mkdir()
    subprocess.run([str(PYWB_BIN / "wb-manager"), "init", "case"], cwd=site, check=True, capture_output=True)
    subprocess.run([str(PYWB_BIN / "wb-manager"), "add", "case", str(bundle), "--unpack-wacz"], cwd=site, check=True,
                   capture_output=True)
    port = free_port()
    server = subprocess.Popen([str(PYWB_BIN / "wayback"), "-b", "127.0.0.1", "-p", str(port)], cwd=site,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for_port(port), "pywb did not start"
        yield f"http://127.0.0.1:{port}/case/2030id_/"
    finally:
        server.terminate()
        server.wait(timeout=30)


@needs_pywb
def test_pywb_replays_the_export(corpus: Demo, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case.wacz"
    assert _export(data_dir, out, "--source", corpus.channel.name).code == 0
    with pywb_replaying(out, tmp_path) as base:
        image = urllib.request.urlopen(base + corpus.server.url("/file/bulletin-101.jpg"), timeout=30).read()
        assert image == corpus.server.served["/file/bulletin-101.jpg"]
        page = urllib.request.urlopen(base + corpus.server.url(f"/s/{corpus.channel.name}"), timeout=30).read()
        assert "استشهد الشاب سامر المثالي".encode() in page


def test_a_revisit_brings_its_original_along(tmp_path: Path) -> None:
    """Post B's photo is the same bytes as post A's (a re-post): B's export must carry A's original."""
    from tawthiq.archivers.archiver import Archiver
    from tawthiq.archivers.exchange import Exchange
    from tawthiq.archivers.revisits import DigestIndex
    from tawthiq.archivers.writer import WarcWriter
    from tawthiq.crawlers.models import Media, Post, WarcLocation
    from tawthiq.catalog import Catalog

    home = tmp_path / "data"
    catalog = Catalog(f"sqlite:///{home / 'catalog.sqlite'}")
    run_id = catalog.start_run(["test"], "case")
    archiver = Archiver(WarcWriter(home / "warcs"), DigestIndex(catalog.find_digest), [catalog])
    photo = bytes(range(256)) * 40
    for name in ("a", "b"):
        url = f"http://127.0.0.1/{name}.jpg"
        archiver.exchange(Exchange(uri=url, raw_request=f"GET /{name}.jpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode(),
                                   raw_response=b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n" + photo))
        page = archiver.exchange(Exchange(
            uri=f"http://127.0.0.1/post/{name}", raw_request=f"GET /post/{name} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
            raw_response=f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>{name}</p>".encode()))
        post = Post(platform="web", source="t", post_id=f"t/{name}", url=f"http://127.0.0.1/post/{name}",
                    text=name, media=[Media(kind="photo", url=url)],
                    warc=WarcLocation(file=page.response.filename, offset=page.response.offset,
                                      length=page.response.length, record_id=page.response.pending.record_id))
        archiver.metadata(post.url, post.archive_document(), kind="post", refers_to=post.warc.record_id)
    archiver.close()
    catalog.finish_run(run_id, "finished", {}, 0)
    catalog.close()

    out = tmp_path / "b.wacz"
    result = run_tawthiq(["export", "--ids", "t/b", "-o", str(out)], data_dir=home)
    assert result.code == 0, result.out + result.err
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("custody/manifest.json"))
    kinds = {(r["type"], r["uri"]) for r in manifest["records"]}
    assert ("revisit", "http://127.0.0.1/b.jpg") in kinds
    assert ("response", "http://127.0.0.1/a.jpg") in kinds  # the original the revisit points to
    assert run_tawthiq(["verify", str(out)]).code == 3  # intact; no key in this data directory, so unproven
