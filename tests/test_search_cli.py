"""Search from the command line over archives the tests capture or import: posts searchable
as they are archived, the same answers after a rebuild from the WARC files alone, archives
made by other tools (wget, py-wacz) searchable after `tawthiq import`, and a query exported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tawthiq.demo.server import LocalServer, Resource
from tests.conftest import Demo, query, run_tawthiq, warc_files


def search_json(data_dir: Path, q: str, *extra: str) -> dict:
    # "--" ends the options, so a query may start with "-" (an exclusion)
    result = run_tawthiq(["search", "--json", "--limit", "100", "--data-dir", str(data_dir), *extra, "--", q])
    assert result.code == 0, result.out + result.err
    return json.loads(result.out)


def test_captured_posts_are_searchable_and_survive_a_rebuild_from_warc(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}", f"feed:{demo.server.url('/feed.xml')}"],
                         data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    everything = search_json(data_dir, "-zzzznothing")
    assert everything["total"] == len(query(data_dir, "select id from posts"))
    hospital = search_json(data_dir, "مستشفى")
    assert hospital["total"] >= 2
    hit = hospital["hits"][0]
    assert set(hit) >= {"id", "platform", "source", "url", "author", "published_at", "text", "snippet",
                        "cluster_size", "warc"}
    assert "<mark>" in hit["snippet"] and "مستشف" in hit["text"]
    assert set(hit["warc"]) >= {"file", "offset", "length"}
    # the location points at the page response the post was parsed from
    (row,) = query(data_dir, f"select rec_type, uri from records where file = '{hit['warc']['file']}' "
                             f"and offset = {hit['warc']['offset']}")
    assert row[0] == "response"
    english = search_json(data_dir, "hospital platform:feed")
    assert english["total"] >= 1 and all(h["platform"] == "feed" for h in english["hits"])
    assert english["facets"]["platform"] == [{"value": "feed", "count": english["total"]}]

    queries = ["مستشفى", "hospital OR مستشفى", "-zzzznothing", "has:image", "قصف -السوق"]
    before = {q: search_json(data_dir, q, "--sort", "date") for q in queries}
    shutil.rmtree(data_dir / "index")
    missing = run_tawthiq(["search", "مستشفى"], data_dir=data_dir)
    assert missing.code == 2 and "tawthiq reindex" in missing.err and "Traceback" not in missing.err
    rebuilt = run_tawthiq(["reindex", "--no-catalog"], data_dir=data_dir)
    assert rebuilt.code == 0, rebuilt.out + rebuilt.err
    after = {q: search_json(data_dir, q, "--sort", "date") for q in queries}
    for q in queries:
        assert [h["id"] for h in after[q]["hits"]] == [h["id"] for h in before[q]["hits"]], q
        assert after[q]["facets"] == before[q]["facets"], q
        assert [h["snippet"] for h in after[q]["hits"]] == [h["snippet"] for h in before[q]["hits"]], q


def test_bad_queries_are_one_line_errors(demo: Demo, data_dir: Path) -> None:
    run_tawthiq(["capture", f"feed:{demo.server.url('/feed.xml')}"], data_dir=data_dir, env=demo.env)
    for q, words in [("(حلب", "never closed"), ("colour:red", "unknown filter"), ("since:yesterday", "not a date")]:
        result = run_tawthiq(["search", q], data_dir=data_dir)
        assert result.code == 2, q
        assert words in result.err and "Traceback" not in result.err, result.err
    bad_sort = run_tawthiq(["search", "x", "--sort", "size"], data_dir=data_dir)
    assert bad_sort.code == 2 and "sort must be" in bad_sort.err


def test_keyword_filtered_posts_are_archived_but_not_searchable(demo: Demo, data_dir: Path) -> None:
    result = run_tawthiq(["capture", f"telegram:{demo.channel.name}", "--keywords", "مستشفى"],
                         data_dir=data_dir, env=demo.env)
    assert result.code == 0, result.out + result.err
    kept = query(data_dir, "select count(*) from posts where indexed")[0][0]
    archived = query(data_dir, "select count(*) from posts")[0][0]
    assert 0 < kept < archived
    assert search_json(data_dir, "-zzzznothing")["total"] == kept
    shutil.rmtree(data_dir / "index")
    assert run_tawthiq(["reindex", "--no-catalog"], data_dir=data_dir).code == 0
    assert search_json(data_dir, "-zzzznothing")["total"] == kept


def test_export_a_search_query(demo: Demo, data_dir: Path, tmp_path: Path) -> None:
    run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env)
    q = "مستشفى has:image"
    ids = {h["post_id"] for h in search_json(data_dir, q)["hits"]}
    out = tmp_path / "case.wacz"
    result = run_tawthiq(["export", q, "-o", str(out)], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    import zipfile

    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("custody/manifest.json"))
    assert manifest["selection"]["query"] == q
    assert {i["post_id"] for i in manifest["items"]} == ids
    assert run_tawthiq(["verify", str(out)]).code == 3  # intact; unsigned (no key), so unproven
    none = run_tawthiq(["export", "zzzznothing", "-o", str(tmp_path / "none.wacz")], data_dir=data_dir)
    assert none.code == 2 and "matches no post" in none.err and not (tmp_path / "none.wacz").exists()


FOREIGN_SITE = {
    "/": ("<html><head><title>تقرير: قصف مستشفى المثال</title><script>var hidden='secretword';</script></head>"
          "<body><h1>تقرير ميداني</h1><p>تعرّض مستشفى المثال الميداني للقصف.</p>"
          "<a href='/en.html'>English</a></body></html>"),
    "/en.html": ("<html><head><title>Field report</title></head><body><p>The bakery in Example Town "
                 "was rebuilt by volunteers.</p></body></html>"),
}


def _wget_warc(tmp_path: Path) -> Path:
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed")
    routes = {path: Resource(body.encode()) for path, body in FOREIGN_SITE.items()}
    with LocalServer(routes) as srv:
        subprocess.run(["wget", "-q", "-r", "-l", "1", "--no-proxy", "-P", str(tmp_path / "mirror"),
                        "--warc-file", str(tmp_path / "site"), srv.url("/")], check=False, timeout=60)
    warc = tmp_path / "site.warc.gz"
    assert warc.exists()
    return warc


def test_import_a_wget_warc_and_a_wacz(tmp_path: Path, data_dir: Path) -> None:
    warc = _wget_warc(tmp_path)
    original = warc.read_bytes()
    result = run_tawthiq(["import", str(warc)], data_dir=data_dir)
    assert result.code == 0, result.out + result.err
    assert "2 page(s)" in result.out
    kept = [p for p in warc_files(data_dir) if p.name.startswith("imported-")]
    assert len(kept) == 1 and kept[0].read_bytes() == original  # byte for byte
    arabic = search_json(data_dir, "مستشفى")
    assert [h["platform"] for h in arabic["hits"]] == ["web"]
    assert arabic["hits"][0]["url"].endswith("/") and arabic["hits"][0]["warc"]["file"] == kept[0].name
    assert search_json(data_dir, "bakery volunteers")["total"] == 1
    assert search_json(data_dir, "secretword")["total"] == 0  # scripts are not text
    again = run_tawthiq(["import", str(warc)], data_dir=data_dir)
    assert again.code == 0 and "already in the archive" in again.out
    assert len([p for p in warc_files(data_dir) if p.name.startswith("imported-")]) == 1

    # the same crawl packaged as a WACZ by py-wacz (what Browsertrix uses) into a fresh archive
    wacz_file = tmp_path / "site.wacz"
    made = subprocess.run([sys.executable, "-m", "wacz", "create", "-o", str(wacz_file), str(warc)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    other = tmp_path / "other"
    result = run_tawthiq(["import", str(wacz_file)], data_dir=other)
    assert result.code == 0, result.out + result.err
    assert search_json(other, "bakery")["total"] == 1
    # rebuilt from WARC files alone, imported pages included
    shutil.rmtree(other / "index")
    assert run_tawthiq(["reindex"], data_dir=other).code == 0
    assert search_json(other, "مستشفى")["total"] == 1
    assert run_tawthiq(["verify", str(other)]).code == 3  # intact; a data directory is never signed


def test_import_refuses_what_is_not_an_archive(tmp_path: Path, data_dir: Path) -> None:
    junk = tmp_path / "notes.warc.gz"
    junk.write_bytes(b"this is not a WARC file\n" * 10)
    result = run_tawthiq(["import", str(junk)], data_dir=data_dir)
    assert result.code == 2 and "nothing imported" in result.err and "Traceback" not in result.err
    assert not list((data_dir / "warcs").glob("*")) if (data_dir / "warcs").exists() else True
    missing = run_tawthiq(["import", str(tmp_path / "nope.wacz")], data_dir=data_dir)
    assert missing.code == 2 and "no such file" in missing.err


def test_an_archive_without_an_index_gets_one_from_its_warc_files(demo: Demo, data_dir: Path) -> None:
    """Archives made before search existed (or whose index was deleted) are indexed in full by
    the next capture, not only that capture's new posts."""
    feed = f"feed:{demo.server.url('/feed.xml')}"
    assert run_tawthiq(["capture", feed], data_dir=data_dir, env=demo.env).code == 0
    total = search_json(data_dir, "-zzzznothing")["total"]
    assert total > 0
    shutil.rmtree(data_dir / "index")
    again = run_tawthiq(["capture", feed], data_dir=data_dir, env=demo.env)
    assert again.code == 0, again.out + again.err
    assert search_json(data_dir, "-zzzznothing")["total"] == total


def test_filters_fold_case_as_the_index_does(tmp_path: Path) -> None:
    """Filter values are case-folded like the stored keys: with lower() "Straße" stayed "straße"
    while the index holds "strasse", and a Greek final sigma ("ΟΔΟΣ" -> "οδος" vs "οδοσ")
    never matched the author as written on the post."""
    from tawthiq.index.documents import doc_from_post
    from tawthiq.index.search import search
    from tawthiq.index.tantivy_backend import TantivyBackend
    from tests.search_corpus import _post

    backend = TantivyBackend(tmp_path / "tantivy")
    posts = [_post(1, "report one", author="Straße Nachrichten", lang="de"),
             _post(2, "report two", author="ΟΔΟΣ", lang="el"),
             _post(3, "report three", author="Other Desk", lang="en")]
    backend.upsert([doc_from_post(p, "2026-11-01T00:00:00Z") for p in posts])
    try:
        assert len(search(backend, 'author:"STRASSE NACHRICHTEN"', limit=10).hits) == 1
        assert len(search(backend, 'author:"Straße Nachrichten"', limit=10).hits) == 1
        assert len(search(backend, "author:οδος", limit=10).hits) == 1
        assert len(search(backend, "author:ΟΔΟΣ", limit=10).hits) == 1
        assert len(search(backend, "author:Other", limit=10).hits) == 0  # a filter is the whole value
    finally:
        backend.close()
