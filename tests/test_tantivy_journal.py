"""The embedded index's rebuild journal and its total order, on a real tantivy index: text with
line separators survives a rebuild, a killed rebuild's journal stops growing, a failure after
the swap keeps the live index, and pages of tied hits never overlap."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tawthiq.index import tantivy_backend as tb
from tawthiq.index.documents import doc_from_post
from tawthiq.index.query import parse_query
from tests.search_corpus import POSTS

CAPTURED = "2026-11-01T00:00:00Z"


def _post(i: int, **kw: Any) -> dict[str, Any]:
    return dict(next(iter(POSTS.values())), post_id=f"p{i:04d}", url=f"https://example.org/{i}", **kw)


def test_line_separators_in_a_post_written_during_a_rebuild_reach_the_new_index(tmp_path: Path) -> None:
    b, capture = tb.TantivyBackend(tmp_path / "t"), tb.TantivyBackend(tmp_path / "t")
    odd = _post(1, text="سطر\u2028سطر\u2029آخر\u0085نهاية")
    with b.rebuild() as build:
        build.add([doc_from_post(_post(i), CAPTURED) for i in range(2, 6)])
        capture.upsert([doc_from_post(odd, CAPTURED)])
    assert b.count() == 5
    hits = b.search(parse_query("id:telegram:p0001").root).hits
    assert [h.stored["text"] for h in hits] == [odd["text"]]


def test_a_torn_last_journal_line_is_skipped_not_fatal(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    b = tb.TantivyBackend(tmp_path / "t")
    with b.rebuild() as build:
        build.add([doc_from_post(_post(2), CAPTURED)])
        b.upsert([doc_from_post(_post(1), CAPTURED)])
        journal = next((tmp_path / "t").glob(tb.JOURNAL_GLOB))
        with open(journal, "a") as fh:
            fh.write('["telegram:p0009", "{\\"id')  # a writer killed mid-line
    assert b.count() == 2
    assert "torn last line" in caplog.text


def test_a_killed_rebuilds_journal_is_removed_not_grown(tmp_path: Path) -> None:
    b = tb.TantivyBackend(tmp_path / "t")
    dead = tmp_path / "t" / "rebuild-v0-dead.journal"
    dead.write_text("")  # nobody holds its lock: its rebuild was killed
    b.upsert([doc_from_post(_post(1), CAPTURED)])
    assert not dead.exists()
    with b.rebuild() as build:  # a live one is held, so it is written to
        b.upsert([doc_from_post(_post(2), CAPTURED)])
        live = next((tmp_path / "t").glob(tb.JOURNAL_GLOB))
        assert json.loads(live.read_text().splitlines()[0])[0] == "telegram:p0002"
        build.add([doc_from_post(_post(3), CAPTURED)])
    assert b.count() == 2 and not list((tmp_path / "t").glob(tb.JOURNAL_GLOB))


def test_a_failure_after_the_swap_keeps_the_live_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b = tb.TantivyBackend(tmp_path / "t")
    real_open = b._open
    calls = {"n": 0}

    def failing_open() -> None:
        calls["n"] += 1
        raise OSError("disk went away")

    monkeypatch.setattr(b, "_open", failing_open)
    with pytest.raises(OSError):
        with b.rebuild() as build:
            build.add([doc_from_post(_post(1), CAPTURED)])
    assert calls["n"] == 1 and (tmp_path / "t" / "current").resolve().is_dir()
    real_open()
    assert b.count() == 1


@pytest.mark.parametrize("sort", ["relevance", "date"])
def test_pages_of_tied_hits_are_in_id_order_and_never_overlap(tmp_path: Path, sort: str) -> None:
    b = tb.TantivyBackend(tmp_path / "t")
    dates = ["2016-11-20T10:00:00+00:00", "2016-11-21T10:00:00+00:00", "2016-11-22T10:00:00+00:00"]
    posts = [_post(i, published=dates[(i * 7) % 3]) for i in range(60)]
    with b.rebuild() as build:
        build.add([doc_from_post(p, CAPTURED) for p in reversed(posts)])
    q = parse_query("platform:telegram").root
    seen = [h.stored["id"] for off in range(0, 60, 7) for h in b.search(q, sort=sort, offset=off, limit=7).hits]
    if sort == "date":
        want = [f"telegram:{p['post_id']}" for p in sorted(posts, key=lambda p: (-dates.index(p["published"]),
                                                                                p["post_id"]))]
    else:
        want = sorted(f"telegram:{p['post_id']}" for p in posts)
    assert seen == want


def test_an_index_of_the_old_layout_asks_for_a_reindex(tmp_path: Path) -> None:
    b = tb.TantivyBackend(tmp_path / "t")
    old = tmp_path / "t" / "v2-20260101T000000-1-1"
    os.rename((tmp_path / "t" / "current").resolve(), old)
    (tmp_path / "t" / "current").unlink()
    (tmp_path / "t" / "current").symlink_to(old.name)
    b.close()
    with pytest.raises(tb.IndexMissing, match="tawthiq reindex"):
        tb.TantivyBackend(tmp_path / "t")
