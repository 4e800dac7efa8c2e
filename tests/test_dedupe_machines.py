"""Near-duplicate verification across machines (issue 18): two data folders ("machines") share
one PostgreSQL catalog; the second captures a repost of a picture only the first holds. With
the first's WARC folder shared (`dedupe_shared_warcs`), the second verifies against those bytes
(checked against the catalog's SHA-256) and the repost joins the first's cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Demo, run_tawthiq
from tests.local_postgres import pg_bin, postgres_server


@pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (.ci/run installs it)")
def test_a_repost_on_another_machine_joins_the_cluster_of_the_first_machines_picture(demo: Demo,
                                                                                   tmp_path: Path) -> None:
    everything = list(demo.channel.posts)
    bulletin, forward = everything[12], everything[15]
    assert bulletin.photos and forward.forwarded_from
    first, second = tmp_path / "first", tmp_path / "second"
    with postgres_server() as url:
        env = {**demo.env, "TAWTHIQ_DATABASE_URL": url}
        demo.channel.posts = everything[:14]  # the first machine holds the bulletin's photo
        done = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=first, env=env)
        assert done.code == 0, done.out + done.err

        # the second machine sees the first's WARC folder (a shared mount) and the repost joins
        demo.channel.posts = everything[14:]
        done = run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=second,
                           env={**env, "TAWTHIQ_DEDUPE_SHARED_WARCS": json.dumps([str(first / "warcs")])})
        assert done.code == 0, done.out + done.err
        assert not {f.name for f in (first / "warcs").iterdir()} & {f.name for f in (second / "warcs").iterdir()}
        clusters = json.loads(run_tawthiq(["dedupe", "clusters", "--json"], data_dir=second, env=env).out)["clusters"]
        (joined,) = [c for c in clusters if any(p["id"].endswith(f"/{forward.id}") for m in c["members"] for p in m["posts"])]
        ids = [[p["id"] for p in m["posts"]] for m in joined["members"]]
        assert any(i.endswith(f"/{bulletin.id}") for i in ids[0]), ids  # the first machine's photo leads
        assert joined["members"][-1]["method"] in ("hash", "local")


def test_bytes_from_a_shared_folder_are_used_only_if_their_digest_is_the_catalogs(tmp_path: Path,
                                                                                 monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A shared folder's file that holds other bytes at the catalog's offset (replaced, or a
    different file of the same name) is not used for verification."""
    import hashlib

    from tawthiq.catalog import Catalog
    from tawthiq.dedupe.matcher import Item
    from tawthiq.dedupe.signature import analyse_image
    from tawthiq.demo.images import photo, repost
    from tawthiq.near_duplicates import NearDuplicates
    from tawthiq.settings import load_settings
    from tests.test_dedupe_store import _warc_with

    shared = tmp_path / "elsewhere" / "warcs"
    shared.mkdir(parents=True)
    picture, other = photo("bulletin-shared.jpg", size=(320, 240)), repost(photo("other.jpg", size=(320, 240)), "@x")
    offset = _warc_with(shared / "w1.warc.gz", picture, "http://x/a.jpg")
    _warc_with(shared / "w2.warc.gz", other, "http://x/b.jpg")
    monkeypatch.setenv("TAWTHIQ_DEDUPE_SHARED_WARCS", json.dumps([str(shared)]))
    settings = load_settings(tmp_path / "here", None)
    catalog = Catalog(settings.catalog_url)
    try:
        near = NearDuplicates(settings, catalog)
        sig = analyse_image(picture).signature
        key = hashlib.sha256(picture).hexdigest()
        near._where[key] = ("w1.warc.gz", offset)
        assert near._pixels(Item(key, "image", sig)) is not None  # the right bytes: used
        near._where[key] = ("w2.warc.gz", offset)  # the catalog's place now holds another picture
        assert near._pixels(Item(key, "image", sig)) is None
        near._where[key] = ("w3.warc.gz", 0)  # on no machine
        assert near._pixels(Item(key, "image", sig)) is None
    finally:
        catalog.close()


def test_a_reclustering_rereads_a_photo_from_the_shared_folder(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`dedupe recluster` on a machine that does not hold a photo's WARC file reads it from the
    shared folder (it used to read only this machine's, and kept the item's old cluster unchecked)."""
    import hashlib

    from tawthiq.catalog import Catalog
    from tawthiq.demo.images import photo
    from tawthiq.near_duplicates import NearDuplicates
    from tawthiq.reclustering import _reread
    from tawthiq.settings import load_settings
    from tests.test_dedupe_store import _warc_with

    shared = tmp_path / "elsewhere" / "warcs"
    shared.mkdir(parents=True)
    picture = photo("recluster-shared.jpg", size=(320, 240))
    offset = _warc_with(shared / "w1.warc.gz", picture, "http://x/a.jpg")
    monkeypatch.setenv("TAWTHIQ_DEDUPE_SHARED_WARCS", json.dumps([str(shared)]))
    settings = load_settings(tmp_path / "here", None)
    catalog = Catalog(settings.catalog_url)
    try:
        near = NearDuplicates(settings, catalog)
        key = hashlib.sha256(picture).hexdigest()
        near._where[key] = ("w1.warc.gz", offset)
        assert _reread(near, key) is not None
    finally:
        catalog.close()
