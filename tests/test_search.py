"""The shared search suite: every backend must give the same answers over one generated corpus.

The embedded backend (tantivy) always runs; Elasticsearch runs when ELASTICSEARCH_URL points
at a server (e.g. `docker run -p 9200:9200 -e discovery.type=single-node -e
xpack.security.enabled=false docker.elastic.co/elasticsearch/elasticsearch:9.1.0`) and is
reported as skipped otherwise.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tawthiq.index.analysis import analyze
from tawthiq.index.backend import Backend
from tawthiq.index.documents import IndexDoc, doc_from_post
from tawthiq.index.query import QuerySyntaxError, parse_query
from tawthiq.index.search import SORTS, search
from tests.search_corpus import EXPECTED, MALFORMED, POSTS, key_of

ES_URL = os.environ.get("ELASTICSEARCH_URL", "")


def corpus_docs(clusters: dict[str, str] | None = None) -> list[IndexDoc]:
    docs = []
    for key, post in POSTS.items():
        captured = "2026-11-01T00:00:00Z"
        docs.append(doc_from_post(post, captured, cluster=(clusters or {}).get(key)))
    return docs


def make_backend(kind: str, root: Path, name: str | None = None) -> Backend:
    """A backend on a fresh index (or, with `name`, on the Elasticsearch index of that name: a
    second process's view of it; tantivy's is the same folder)."""
    if kind == "tantivy":
        from tawthiq.index.tantivy_backend import TantivyBackend

        return TantivyBackend(root / "tantivy")
    if not ES_URL:
        pytest.skip("ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
    from tawthiq.index.elastic_backend import ElasticConfig, ElasticsearchBackend

    return ElasticsearchBackend(ElasticConfig(url=ES_URL, index=name or f"tawthiq-test-{uuid.uuid4().hex[:8]}"))


def _drop(backend: Backend) -> None:
    if backend.name == "elasticsearch":
        es = backend.es  # type: ignore[attr-defined]
        for name in backend.versioned_indices():  # type: ignore[attr-defined]
            es.indices.delete(index=name, ignore_unavailable=True)
        es.indices.delete_index_template(name=f"{backend.alias}-template")  # type: ignore[attr-defined]
    backend.close()


@pytest.fixture(params=["tantivy", "elasticsearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    b = make_backend(request.param, tmp_path)
    b.upsert(corpus_docs())
    yield b
    _drop(b)


def found(backend: Backend, q: str, **kw: object) -> set[str]:
    result = search(backend, q, limit=100, facets=False, **kw)  # type: ignore[arg-type]
    assert result.total == len(result.hits)
    return {key_of(h.id) for h in result.hits}


# -- analysis: one table of words and the tokens both backends index ---------------------------
ANALYSIS_TABLE = [
    # raw text, expected words (normalised, article stripped), expected terms (stemmed)
    ("المستشفى", ["مستشفي"], ["مستشف"]),
    ("مستشفى", ["مستشفي"], ["مستشف"]),
    ("بالمستشفى", ["مستشفي"], ["مستشف"]),
    ("المُسْتَشْفَى", ["مستشفي"], ["مستشف"]),
    ("مستشفـــى", ["مستشفي"], ["مستشف"]),
    ("مجزرة", ["مجزره"], ["مجزر"]),
    ("المجزره", ["مجزره"], ["مجزر"]),
    ("والقصف", ["قصف"], ["قصف"]),
    ("أطفال إطفال آطفال", ["اطفال", "اطفال", "اطفال"], ["اطفال", "اطفال", "اطفال"]),
    ("٢٠١٦ ۲۰۱۶ 2016", ["2016", "2016", "2016"], ["2016", "2016", "2016"]),
    ("ﻻ", ["لا"], ["لا"]),  # presentation-form ligature (PDF text)
    ("Hospitals BOMBED", ["hospitals", "bombed"], ["hospit", "bomb"]),
    ("قصف hospital", ["قصف", "hospital"], ["قصف", "hospit"]),
]


@pytest.mark.parametrize("raw,words,terms", ANALYSIS_TABLE)
def test_analysis_table(raw: str, words: list[str], terms: list[str]) -> None:
    assert analyze(raw) == (words, terms)


def test_elasticsearch_indexes_the_analysed_tokens_unchanged(tmp_path: Path) -> None:
    """The other side of the table: Elasticsearch's field analyzer keeps our tokens as they are."""
    backend = make_backend("elasticsearch", tmp_path)
    try:
        for raw, _, terms in ANALYSIS_TABLE:
            out = backend.es.indices.analyze(  # type: ignore[attr-defined]
                index=backend.alias, field="terms", text=" ".join(terms))  # type: ignore[attr-defined]
            assert [t["token"] for t in out["tokens"]] == terms, raw
    finally:
        _drop(backend)


# -- the shared suite ----------------------------------------------------------------------------
@pytest.mark.parametrize("q", list(EXPECTED))
def test_each_query_form_finds_the_right_posts(backend: Backend, q: str) -> None:
    assert found(backend, q) == EXPECTED[q], q


@pytest.mark.parametrize("q", list(MALFORMED))
def test_malformed_queries_get_a_message_pointing_at_the_problem(q: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(q)
    assert MALFORMED[q] in str(info.value)
    assert "(column " in str(info.value)


def test_unclosed_quote_is_read_literally_to_the_end(backend: Backend) -> None:
    result = search(backend, '"مستشفى القدس', limit=10)
    assert {key_of(h.id) for h in result.hits} == {"plain", "training"}
    assert any("not closed" in n for n in result.query.notes)


def test_no_input_makes_a_backend_fail(backend: Backend) -> None:
    """Random strings of query syntax: each is either refused with QuerySyntaxError or answered."""
    rng = random.Random(7)
    alphabet = ['"', "(", ")", "-", "*", ":", " ", " ", "OR", "a", "حلب", "since:", "has:", "platform:",
                "\\", "[", "]", "{", "^", "~", "/", "?", "!", "+", "&&", "ـ", "َ", "\u200f"]
    for _ in range(300):
        q = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        try:
            parsed = parse_query(q)
        except QuerySyntaxError:
            continue
        search(backend, parsed, limit=5)


def test_facets_count_every_matching_post(backend: Backend) -> None:
    result = search(backend, "مستشفى", limit=1)
    f = {name: dict(values) for name, values in result.facets.items()}
    assert f["platform"] == {"telegram": 8}
    assert f["source"] == {"mithal_news": 5, "shahid_channel": 3}
    assert f["has"] == {"image": 2, "video": 2, "media": 4}
    assert f["month"] == {"2016-10": 1, "2016-11": 5, "2016-12": 1, "2017-01": 1}
    assert list(f["month"]) == ["2017-01", "2016-12", "2016-11", "2016-10"]  # newest first
    assert f["lang"] == {"ar": 8}
    english = {name: dict(v) for name, v in search(backend, "hospital", limit=1).facets.items()}
    assert english["platform"] == {"feed": 1, "telegram": 1}
    assert english["author"] == {"Example News Desk": 1, "شاهد": 1}


def test_every_match_is_listed_for_export(backend: Backend) -> None:
    from tawthiq.index.search import matching_ids

    _, ids = matching_ids(backend, "مستشفى")
    assert sorted(ids) == sorted(POSTS[k]["post_id"] for k in EXPECTED["مستشفى"])


def test_date_order_and_pagination(backend: Backend) -> None:
    q = "مستشفى"
    by_date = search(backend, q, sort="date", limit=100).hits
    dates = [h.published_at for h in by_date]
    assert dates == sorted(dates, reverse=True)
    assert key_of(by_date[0].id) == "tatweel"  # 2017-01-03, the newest
    pages = [search(backend, q, sort="date", limit=3, offset=o).hits for o in (0, 3, 6)]
    assert [h.id for page in pages for h in page] == [h.id for h in by_date]
    by_relevance = search(backend, "مستشفى القدس", limit=100).hits
    assert key_of(by_relevance[0].id) in {"plain", "training"}  # both words, adjacent


def test_snippets_are_cut_from_the_original_text(backend: Backend) -> None:
    hit = search(backend, "بالمستشفى", limit=10).hits
    snippets = {key_of(h.id): h.snippet for h in hit}
    assert snippets["diacritics"] == "<mark>المُسْتَشْفَى</mark> الوَطَنِيّ يَسْتَقْبِلُ الجَرْحَى"
    assert snippets["clitic"] == "نقل الجرحى <mark>بالمستشفى</mark> الميداني في حلب"
    english = search(backend, "hosp*", limit=10).hits
    assert {key_of(h.id): h.snippet for h in english}["english"] == (
        "Airstrikes hit two <mark>hospitals</mark> in Example Town; the field <mark>hospital</mark> closed.")


def test_hits_say_where_the_capture_sits_in_the_archive(backend: Backend) -> None:
    hit = search(backend, "مجزرة", sort="date", limit=1).hits[0]
    assert hit.as_json()["warc"] == {"file": "test.warc.gz", "offset": 7000, "length": 900}
    assert hit.url == "https://example.org/mithal_news/7"
    assert hit.cluster_size == 1


def test_near_duplicates_fold_into_one_hit_with_a_count(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    kind = "tantivy" if not ES_URL else "elasticsearch"
    for k in ["tantivy", "elasticsearch"][: 2 if ES_URL else 1]:
        b = make_backend(k, tmp_path / k)
        try:
            b.upsert(corpus_docs({"plain": "c1", "training": "c1", "separated": "c1"}))
            result = search(b, "مستشفى", limit=100)
            assert result.total == 8  # every copy matches...
            assert len(result.hits) == 6  # ...and the three copies are one hit
            folded = [h for h in result.hits if h.cluster == "c1"]
            assert len(folded) == 1 and folded[0].cluster_size == 3
            assert [h.cluster_size for h in result.hits if h.cluster != "c1"] == [1] * 5
        finally:
            _drop(b)
    assert kind


def test_a_newer_capture_replaces_the_older_one(backend: Backend) -> None:
    post = dict(POSTS["unrelated"], text="حالة الطقس: ثلوج")
    backend.upsert([doc_from_post(post, "2026-11-02T00:00:00Z")])
    assert found(backend, "ثلوج") == {"unrelated"}
    assert found(backend, "أمطار") == set()
    assert backend.count() == len(POSTS)


def test_a_rebuild_gives_the_same_results_and_swaps_in_whole(backend: Backend) -> None:
    before = {q: found(backend, q) for q in EXPECTED}
    with pytest.raises(RuntimeError):
        with backend.rebuild() as build:
            build.add(corpus_docs()[:3])
            raise RuntimeError("interrupted")
    assert backend.count() == len(POSTS)  # the interrupted rebuild never went live
    with backend.rebuild() as build:
        build.add(corpus_docs())
    assert {q: found(backend, q) for q in EXPECTED} == before


# -- one total order: the same hits in the same order from both backends -------------------------
def ordered(backend: Backend, q: str, sort: str, fold: bool = False) -> list[str]:
    return [key_of(h.id) for h in search(backend, q, limit=100, sort=sort, facets=False, fold=fold).hits]


@pytest.mark.parametrize("q", list(EXPECTED))
def test_hits_come_in_one_total_order(backend: Backend, q: str) -> None:
    """Score (or date) descending, then id ascending: the order both backends promise, so copies
    that score the same fold under the same representative."""
    hits = search(backend, q, limit=100, facets=False, fold=False).hits
    assert [h.id for h in hits] == [h.id for h in sorted(hits, key=lambda h: (-(h.score or 0), h.id))]
    by_date = search(backend, q, sort="date", limit=100, facets=False, fold=False).hits
    assert [h.id for h in by_date] == [h.id for h in sorted(sorted(by_date, key=lambda h: h.id),
                                                            key=lambda h: h.published_at, reverse=True)]


def test_ties_are_ordered_by_id_across_a_page_cut(backend: Backend) -> None:
    """Five copies of one text score the same; every page cut takes them in id order."""
    twins = [doc_from_post(dict(POSTS["unrelated"], post_id=f"twin/{n}", text="توأم متطابق تماما"),
                           "2026-11-01T00:00:00Z") for n in (5, 3, 9, 1, 7)]
    backend.upsert(twins[:2])
    backend.upsert(twins[2:])
    want = [f"telegram:twin/{n}" for n in (1, 3, 5, 7, 9)]
    for sort in SORTS:
        pages = [search(backend, "توأم", sort=sort, limit=2, offset=o, facets=False).hits for o in (0, 2, 4)]
        assert [h.id for page in pages for h in page] == want, sort


def test_both_backends_give_the_same_ordered_results(tmp_path: Path) -> None:
    if not ES_URL:
        pytest.skip("ELASTICSEARCH_URL is not set: no Elasticsearch server to compare with")
    clusters = {"plain": "c1", "training": "c1", "separated": "c1"}
    t, e = make_backend("tantivy", tmp_path), make_backend("elasticsearch", tmp_path)
    try:
        for b in (t, e):
            b.upsert(corpus_docs(clusters))
        for q in EXPECTED:
            for sort in SORTS:
                for fold in (False, True):
                    assert ordered(t, q, sort, fold) == ordered(e, q, sort, fold), (q, sort, fold)
    finally:
        _drop(t)
        _drop(e)


# -- a rebuild loses no live write -----------------------------------------------------------------
def test_a_post_written_during_a_rebuild_reaches_the_new_index(backend: Backend, tmp_path: Path) -> None:
    capture = make_backend(backend.name, tmp_path, getattr(backend, "alias", None))  # another process's view
    newer = doc_from_post(dict(POSTS["unrelated"], text="حالة الطقس: ثلوج"), "2026-11-02T00:00:00Z")
    with backend.rebuild() as build:
        build.add(corpus_docs()[:5])
        capture.upsert([newer])  # captured while the rebuild reads the archive
        build.add(corpus_docs()[5:])  # the rebuild then meets the older capture of the same post
    assert found(backend, "ثلوج") == {"unrelated"}
    assert found(backend, "أمطار") == set()
    assert backend.count() == len(POSTS)
    capture.upsert([doc_from_post(dict(POSTS["plain"], text="جليد في حلب"), "2026-11-03T00:00:00Z")])
    assert found(make_backend(backend.name, tmp_path, getattr(backend, "alias", None)), "جليد") == {"plain"}


def _warc_of_posts(path: Path, posts: list[dict[str, object]], date: str) -> None:
    """A WARC file of post metadata records, as the archive writes them (warcio)."""
    import io
    import json

    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for post in posts:
            payload = json.dumps({"type": "post", "post": post}, ensure_ascii=False).encode()
            writer.write_record(writer.create_warc_record(
                str(post["url"]), "metadata", payload=io.BytesIO(payload), warc_content_type="application/json",
                warc_headers_dict={"WARC-Tawthiq-Kind": "post", "WARC-Date": date}))


def test_a_rebuild_reads_files_sealed_or_still_open_since_its_list_was_made(tmp_path: Path) -> None:
    """Posts a capture indexed before the rebuild began, in files the rebuild's list did not hold
    (sealed after it was made, or still being written), are in the new index."""
    from tawthiq.search_index import archive_files, rebuild

    warcs = tmp_path / "warcs"
    warcs.mkdir()
    _warc_of_posts(warcs / "20261101-a.warc.gz", [POSTS["plain"], POSTS["english"]], "2026-11-01T00:00:00Z")
    listed = archive_files(warcs)
    _warc_of_posts(warcs / "20261102-b.warc.gz", [POSTS["alef"]], "2026-11-02T00:00:00Z")  # sealed since
    _warc_of_posts(warcs / "20261103-c.warc.gz.open", [POSTS["digits"]], "2026-11-03T00:00:00Z")  # being written
    backend = make_backend("tantivy", tmp_path)
    assert rebuild(backend, listed, workers=1) == 4
    assert found(backend, "اسعاف") == {"alef"} and found(backend, "2016") == {"digits"}
    assert found(backend, "hospital") == {"english"}
