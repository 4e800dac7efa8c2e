"""The Elasticsearch backend against a stand-in server on 127.0.0.1 (tests/es_standin.py): what it
sends to 8.x and 9.x servers, that opening and searching write nothing, how every failure reads,
paging past 10,000 hits, and that a rebuild loses no live write. The real-cluster suite is
tests/test_search.py with ELASTICSEARCH_URL set."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tawthiq.errors import ConfigError, NotFound, Unavailable
from tawthiq.index.backend import IndexUnavailable
from tawthiq.index.documents import doc_from_post
from tawthiq.index.elastic_backend import ElasticConfig, ElasticsearchBackend, forget_clients
from tawthiq.index.query import MatchAll
from tawthiq.index.search import search
from tests.conftest import run_tawthiq
from tests.es_standin import Failure, StandIn, security_error
from tests.search_corpus import POSTS

INDEX = "tawthiq-posts"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    forget_clients()
    yield
    forget_clients()


def _docs(captured: str = "2026-11-01T00:00:00Z") -> list:  # type: ignore[type-arg]
    return [doc_from_post(post, captured) for post in POSTS.values()]


def _compat(value: str) -> str | None:
    return value.split("compatible-with=")[1] if "compatible-with=" in value else None


# -- the compatibility header ------------------------------------------------------------------
@pytest.mark.parametrize("major", [8, 9])
def test_every_request_asks_for_the_servers_own_major(major: int) -> None:
    with StandIn(major=major) as es:
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX))
        backend.upsert(_docs())
        result = search(backend, "platform:feed", limit=5)
        assert {h.platform for h in result.hits} == {"feed"}
        probe, *rest = es.requests
        assert (probe.method, probe.path) == ("GET", "/")
        assert probe.headers["accept"] == "application/json"  # plain JSON: any major answers it
        assert rest, "nothing after the probe"
        for r in rest:
            assert _compat(r.headers.get("accept", "")) == str(major), (r.method, r.path, r.headers)
            if "content-type" in r.headers:
                assert _compat(r.headers["content-type"]) == str(major), (r.method, r.path)
        (bulk,) = [r for r in rest if r.path == "/_bulk"]
        assert bulk.headers["content-type"] == f"application/vnd.elasticsearch+x-ndjson; compatible-with={major}"


def test_an_8x_server_that_refuses_compatible_with_9_is_never_sent_it() -> None:
    from elasticsearch import BadRequestError, Elasticsearch

    with StandIn(major=8) as es:
        plain = Elasticsearch(es.url)  # the client as installed: compatible-with=9
        with pytest.raises(BadRequestError) as refused:
            plain.search(index=INDEX)
        assert refused.value.message == "media_type_header_exception"
        plain.close()
        es.requests.clear()
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX))
        backend.upsert(_docs())
        assert backend.count() == len(POSTS)
        sent = [v for r in es.requests for k, v in r.headers.items() if k in ("accept", "content-type")]
        assert sent and not any("compatible-with=9" in v for v in sent)


def test_opensearch_is_refused_with_the_reason() -> None:
    with StandIn(distribution="opensearch", product=False) as es:
        with pytest.raises(ConfigError) as info:
            ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX))
        assert "OpenSearch 2.17.0" in str(info.value) and "tantivy" in str(info.value)
        assert [(r.method, r.path) for r in es.requests] == [("GET", "/")]  # nothing written


# -- opening writes nothing ----------------------------------------------------------------------
def test_opening_and_searching_write_nothing_and_probe_once() -> None:
    with StandIn() as es:
        ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX)).upsert(_docs())  # the first capture
        assert len(es.seen("PUT", "/_index_template/.*")) == 1
        es.requests.clear()
        for _ in range(3):  # three page views of the web app
            backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX), create=False)
            search(backend, "platform:telegram", limit=3)
            backend.close()
        writes = [(r.method, r.path) for r in es.requests
                  if r.method in ("PUT", "DELETE") or r.path in ("/_aliases", "/_bulk")]
        assert writes == []
        assert es.seen("GET", "/") == []  # the client, probed once, is the process's


def test_searching_a_missing_index_leaves_no_template() -> None:
    with StandIn() as es:
        with pytest.raises(NotFound) as info:
            ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX), create=False)
        assert "tawthiq reindex" in str(info.value)
        assert es.templates == {} and es.indices == {}
        assert [r.method for r in es.requests if r.method != "GET" and r.method != "HEAD"] == []


def test_relevance_and_date_orders_end_on_the_id() -> None:
    with StandIn() as es:
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX))
        backend.upsert(_docs())
        es.requests.clear()
        backend.search(MatchAll(), sort="relevance", limit=5)
        backend.search(MatchAll(), sort="date", limit=5)
        sorts = [r.body["sort"] for r in es.seen("POST", f"/{INDEX}/_search")]
        assert sorts == [[{"_score": "desc"}, {"id": "asc"}], [{"published": "desc"}, {"id": "asc"}]]


# -- failures: one line, the right kind ----------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_is_unavailable() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(Unavailable) as info:
        ElasticsearchBackend(ElasticConfig(url=url, index=INDEX))
    assert info.value.exit_code == 75 and info.value.http_status == 503
    assert str(info.value) == f"cannot reach Elasticsearch at {url} to read the server version (GET /): is it running?"


def test_refused_credentials_say_which_settings_and_show_no_secret() -> None:
    secret = "s3cr3t-pw-never-shown"
    with StandIn(failures=[Failure("/", 401, security_error(401, "unable to authenticate user [tawthiq]"))]) as es:
        url = es.url.replace("http://", f"http://tawthiq:{secret}@")
        for config in (ElasticConfig(url=es.url, index=INDEX, username="tawthiq", password=secret),
                       ElasticConfig(url=es.url, index=INDEX, api_key=secret), ElasticConfig(url=url, index=INDEX)):
            with pytest.raises(ConfigError) as info:
                ElasticsearchBackend(config)
            message = str(info.value)
            assert "(401)" in message and "elasticsearch_api_key" in message
            assert secret not in message and secret not in repr(config) and "\n" not in message
        assert es.requests[0].headers["authorization"].startswith("Basic ")


def test_a_missing_privilege_is_named() -> None:
    reason = ("action [indices:data/read/search] is unauthorized for user [tawthiq] with effective roles "
              "[writer] on indices [tawthiq-posts-v1], this action is granted by the index privileges [read,all]")
    with StandIn() as es:
        ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX)).upsert(_docs())
        es.failures.append(Failure(f"/{INDEX}/_search", 403, security_error(403, reason)))
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX), create=False)
        with pytest.raises(ConfigError) as info:
            backend.search(MatchAll())
        assert str(info.value) == (
            f"Elasticsearch at {es.url} refused to search {INDEX} (403): the user lacks the index privilege "
            f"`read` on `{INDEX}*`; Elasticsearch says this action is granted by the index privileges [read,all]")


def test_a_template_write_refused_names_the_cluster_privilege() -> None:
    with StandIn(failures=[Failure("/_index_template/.*", 403, security_error(403, "unauthorized"))]) as es:
        with pytest.raises(ConfigError) as info:
            ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX))
        assert "the cluster privilege `manage_index_templates`" in str(info.value)


def test_a_slow_server_times_out_as_unavailable() -> None:
    with StandIn() as es:
        ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX)).upsert(_docs())
        es.failures.append(Failure(f"/{INDEX}/_search", 200, {}, delay=3.0))
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX, timeout=0.5), create=False)
        started = time.monotonic()
        with pytest.raises(Unavailable) as info:
            backend.search(MatchAll())
        assert time.monotonic() - started < 2.5
        assert "did not answer in time" in str(info.value) and "elasticsearch_timeout" in str(info.value)


def test_a_server_error_is_unavailable_in_the_cli_and_the_web(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from tawthiq.settings import load_settings
    from tawthiq.web.app import create_app

    body = {"error": {"type": "search_phase_execution_exception", "reason": "all shards failed"}, "status": 500}
    with StandIn() as es:
        ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX)).upsert(_docs())
        es.failures.append(Failure(f"/{INDEX}/_search", 500, body))
        env = {"TAWTHIQ_SEARCH_BACKEND": "elasticsearch", "TAWTHIQ_ELASTICSEARCH_URL": es.url}
        result = run_tawthiq(["search", "platform:telegram"], data_dir=tmp_path / "data", env=env)
        assert result.code == 75, result.out + result.err
        assert "Traceback" not in result.err and len(result.err.strip().splitlines()) == 1
        assert "search_phase_execution_exception: all shards failed" in result.err
        settings = load_settings(tmp_path / "data", search_backend="elasticsearch", elasticsearch_url=es.url)
        answer = TestClient(create_app(settings)).get("/api/search", params={"q": "platform:telegram"})
        assert answer.status_code == 503
        assert "try again later" in answer.json()["detail"]


def test_settings_hide_the_elasticsearch_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tawthiq.search_index import elastic_config
    from tawthiq.settings import load_settings

    monkeypatch.setenv("TAWTHIQ_ELASTICSEARCH_API_KEY", "key-never-shown")
    monkeypatch.setenv("TAWTHIQ_ELASTICSEARCH_PASSWORD", "pw-never-shown")
    monkeypatch.setenv("TAWTHIQ_ELASTICSEARCH_USERNAME", "tawthiq")
    settings = load_settings(tmp_path, elasticsearch_url="https://es.example:9200", elasticsearch_timeout=5)
    assert settings.elasticsearch_api_key == "key-never-shown" and settings.elasticsearch_verify_certs is True
    config = elastic_config(settings)
    for shown in (repr(settings), str(settings), repr(config)):
        assert "key-never-shown" not in shown and "pw-never-shown" not in shown
    with pytest.raises(ConfigError) as info:  # both kinds of credentials: which one is meant?
        ElasticsearchBackend(config)
    assert "not both" in str(info.value) and "never-shown" not in str(info.value)
    monkeypatch.setenv("TAWTHIQ_ELASTICSEARCH_CA_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="elasticsearch_ca_file"):
        elastic_config(load_settings(tmp_path, elasticsearch_url="https://es.example:9200"))


# -- past 10,000 hits ------------------------------------------------------------------------------
def _fill(es: StandIn, n: int) -> None:
    """n documents straight into the stand-in (each its own cluster), as the backend writes them."""
    name = f"{INDEX}-v1-standin"
    base = datetime(2016, 1, 1, tzinfo=timezone.utc)
    docs = {}
    for i in range(n):
        ident = f"telegram:s/{i:06d}"
        published = (base + timedelta(minutes=i)).isoformat()
        stored = {"id": ident, "platform": "telegram", "post_id": f"s/{i:06d}", "source": "s", "url": "",
                  "author": "", "lang": "ar", "published_at": published, "captured_at": published,
                  "text": f"post {i}", "cluster": ident, "has": [], "warc": {}}
        docs[ident] = (1, {"id": ident, "post_id": stored["post_id"], "platform": "telegram",
                           "platform_k": "telegram", "cluster": ident, "published": published, "doc": stored})
    es.indices[name] = docs
    es.aliases[INDEX] = {name}


def test_folding_pages_past_ten_thousand_hits() -> None:
    from tawthiq.index import analysis

    with StandIn() as es:
        _fill(es, 25_000)
        es.indices = {k.replace("-v1-", f"-v{analysis.ANALYSIS_VERSION}-"): v for k, v in es.indices.items()}
        es.aliases[INDEX] = set(es.indices)
        backend = ElasticsearchBackend(ElasticConfig(url=es.url, index=INDEX), create=False)
        raw = backend.search(MatchAll(), offset=0, limit=20_000)
        assert raw.total == 25_000
        assert [h.stored["id"] for h in raw.hits] == [f"telegram:s/{i:06d}" for i in range(20_000)]
        page = search(backend, "platform:telegram", offset=12_000, limit=10, facets=False)
        assert [h.id for h in page.hits] == [f"telegram:s/{i:06d}" for i in range(12_000, 12_010)]
        bodies = [r.body for r in es.requests if r.path == "/_search"]
        assert bodies and all("pit" in b for b in bodies)
        assert any("search_after" in b for b in bodies)
        assert all(b.get("from", 0) + b["size"] <= 10_000 for b in bodies)
        es.requests.clear()
        deep = backend.search(MatchAll(), sort="date", offset=15_000, limit=5)
        assert [h.stored["id"] for h in deep.hits] == [f"telegram:s/{i:06d}" for i in range(9_999, 9_994, -1)]
        assert [b["_source"] for b in (r.body for r in es.requests if r.path == "/_search")] == [False, ["doc"]]
        assert es.pits == {}  # each point in time closed


# -- a rebuild loses no live write ---------------------------------------------------------------
def test_posts_written_during_a_rebuild_reach_the_new_index() -> None:
    with StandIn() as es:
        config = ElasticConfig(url=es.url, index=INDEX)
        live = ElasticsearchBackend(config)
        docs = _docs()
        live.upsert(docs[:5])
        rebuilder = ElasticsearchBackend(config)
        newer = doc_from_post(dict(POSTS["unrelated"], text="حالة الطقس: ثلوج"), "2026-12-01T00:00:00Z")
        with rebuilder.rebuild() as build:
            build.add(docs[:3])
            live.upsert([newer])  # a capture while the rebuild runs: a newer capture of "unrelated"...
            build.add(docs[3:])  # ...which the rebuild then reads, older, from the WARC files
            assert len([r for r in es.requests if r.path == "/_bulk"]) >= 3
        (current,) = es.aliases[INDEX]
        assert f"{INDEX}-rebuilding" not in es.aliases
        stored = es.indices[current]
        assert set(stored) == {d.id for d in docs}
        assert stored[newer.id][1]["doc"]["text"] == "حالة الطقس: ثلوج"  # the newer capture stayed
        assert len(es.indices) == 1  # the old index is gone
        live.upsert([doc_from_post(POSTS["plain"], "2026-12-02T00:00:00Z")])  # and captures go on into it
        assert es.indices[current][docs[0].id][0] > 1


def test_a_killed_rebuilds_marker_is_refused_with_the_fix_and_a_swap_clears_every_marker() -> None:
    with StandIn() as es:
        config = ElasticConfig(url=es.url, index=INDEX)
        live = ElasticsearchBackend(config)
        live.upsert(_docs()[:2])
        orphan = f"{INDEX}-v0-orphan"
        es.indices[orphan] = {}
        es.aliases[f"{INDEX}-rebuilding"] = {orphan}  # a rebuild killed before its swap
        with pytest.raises(IndexUnavailable, match=f"DELETE /{orphan}"):
            with live.rebuild():
                pass
        assert len([i for i in es.indices if i != orphan]) == 1  # nothing new was created
        es.aliases.pop(f"{INDEX}-rebuilding")
        with live.rebuild() as build:
            build.add(_docs()[:2])
            es.aliases[f"{INDEX}-rebuilding"].add(orphan)  # a second marked index appears meanwhile
        assert f"{INDEX}-rebuilding" not in es.aliases


@pytest.mark.parametrize(("url", "shown"), [
    ("http://elastic:s3cret@es:9200/", "http://es:9200/"),
    ("elastic:s3cret@es:9200", "es:9200"),
    ("https://u:p@w@es:notaport/x", "https://es:notaport/x"),
    ("http://u:p@[::1]:9200", "http://[::1]:9200"),
    ("http://es:9200", "http://es:9200"),
])
def test_shown_urls_never_carry_a_password_nor_raise(url: str, shown: str) -> None:
    from tawthiq.index.elastic.errors import shown_url
    assert shown_url(url) == shown
