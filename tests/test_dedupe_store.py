"""The on-disk near-duplicate store (dedupe/store.py) and cluster assignment across workers
(issue 18): exact answers against brute force, a torn tail cut after a crash, reopening without a
rebuild, and three worker processes on one PostgreSQL catalog signing copies of one picture at the
same moment, which must make one cluster."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tawthiq.dedupe import store as st
from tests.conftest import ROOT
from tests.local_postgres import pg_bin, postgres_server


def _fill(store: st.Store, rng: np.random.Generator, count: int, start_row: int) -> np.ndarray:
    wholes = rng.integers(0, 2**63, count, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    for a in range(0, count, 250):
        entries = [st.Entry(rng.bytes(32), start_row + i, whole=int(wholes[i]),
                            views=rng.integers(0, 2**63, 8).astype(np.uint64),
                            buckets=rng.integers(0, 1 << 24, (6, 8)).astype(np.int32))
                   for i in range(a, min(count, a + 250))]
        with store.locked():
            store.append(entries)
            store.compact()
    return wholes


def test_radius_queries_equal_brute_force_across_segments_and_tail(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(st, "TAIL", 700)  # several segments and a tail with a few thousand items
    store = st.Store(tmp_path / "dedupe")
    rng = np.random.default_rng(3)
    wholes = _fill(store, rng, 6100, 1)
    assert len(store.tables["whole"].segments) >= 2 and store.tables["whole"].rows > store.tables["whole"].indexed
    again = st.Store(tmp_path / "dedupe")  # another process's view: nothing rebuilt, same answers
    for radius in (0, 3, 10, 14):
        for _ in range(60):
            i = int(rng.integers(0, len(wholes)))
            flips = rng.choice(64, int(rng.integers(0, radius + 1)), replace=False)
            q = int(wholes[i]) ^ int(sum(1 << int(b) for b in flips))
            expected = set(np.nonzero(np.bitwise_count(wholes ^ np.uint64(q)) <= radius)[0].tolist())
            for s in (store, again):
                found, dist = s.tables["whole"].hash_search(q, radius)
                assert set(found.tolist()) == expected and i in expected
                assert (dist <= radius).all()
    # descriptor buckets: every stored row sharing a bucket is found, with the crowd counted
    q = np.asarray(store.tables["desc"].keys[100:103])
    items, which, crowd = store.tables["desc"].bucket_hits(q, 0)
    assert set(items.tolist()) >= {100 // 6, 101 // 6, 102 // 6} and crowd.sum() == len(items)


def test_a_torn_tail_is_cut_and_the_store_goes_on(tmp_path: Path) -> None:
    folder = tmp_path / "dedupe"
    store = st.Store(folder)
    rng = np.random.default_rng(5)
    _fill(store, rng, 300, 1)
    # a writer killed mid-append: table rows of an uncommitted item, half an item record
    store.tables["whole"].append(np.array([12345], np.uint64), np.array([300], np.uint32))
    with open(folder / "items.bin", "ab") as fh:
        fh.write(b"\x01" * 17)
    reader = st.Store(folder)
    assert reader.count == 300 and reader.tables["whole"].rows == 300  # ignored before any repair
    assert 300 not in reader.tables["whole"].hash_search(12345, 0)[0].tolist()
    with reader.locked():
        reader.append([st.Entry(b"\x02" * 32, 301, whole=999)])
    fresh = st.Store(folder)
    assert fresh.count == 301 and fresh.last_row == 301 and fresh.key(300) == b"\x02" * 32
    assert fresh.tables["whole"].hash_search(999, 0)[0].tolist() == [300]
    assert (folder / "items.bin").stat().st_size == 301 * st.ITEM.itemsize
    with pytest.raises(st.StoreError):  # catalog rows only go forward
        with fresh.locked():
            fresh.append([st.Entry(b"\x03" * 32, 5, whole=1)])


def test_opening_maps_and_does_not_read(tmp_path: Path) -> None:
    store = st.Store(tmp_path / "dedupe")
    keys = np.zeros((200_000, 32), np.uint8)
    keys[:, :8] = np.arange(200_000, dtype=">u8").view(np.uint8).reshape(-1, 8)
    with store.locked():
        store.append_images(keys, np.arange(1, 200_001), np.random.default_rng(1).integers(
            0, 2**63, (200_000, 9), dtype=np.int64).astype(np.uint64))
        store.build_all()
    t = time.perf_counter()
    opened = st.Store(tmp_path / "dedupe")
    assert time.perf_counter() - t < 0.2
    assert opened.count == 200_000 and opened.item_of_row(123_456) == 123_455


WORKER = r"""
import json, sys, time
from pathlib import Path
from tawthiq.catalog import Catalog
from tawthiq.near_duplicates import NearDuplicates
from tawthiq.settings import load_settings

home, url, name, offset, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
settings = load_settings(Path(home), database_url=url)
catalog = Catalog(settings.catalog_url, worker=name)
near = NearDuplicates(settings, catalog)
near.matcher()  # opened before the moment, as a running capture has it
data = (settings.warcs_dir / name).read_bytes()
import warcio.archiveiterator as ai
with open(settings.warcs_dir / name, "rb") as fh:
    for rec in ai.ArchiveIterator(fh):
        if rec.rec_type == "response":
            body = rec.content_stream().read()
            sha = __import__("hashlib").sha256(body).hexdigest()
            break
while time.time() < start:
    time.sleep(0.001)
out = near.media(body, sha, "image/jpeg", stored_at=(name, offset), record_id=f"<urn:uuid:{name}>")
print(json.dumps({"sha": sha, "cluster": out["cluster"], "matched": out["matched"]}))
"""


def _warc_with(path: Path, body: bytes, url: str) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        offset = fh.tell()
        headers = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=headers))
    return offset


@pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (.ci/run installs it)")
def test_three_workers_signing_copies_of_one_picture_at_once_make_one_cluster(tmp_path: Path) -> None:
    from PIL import Image

    from tawthiq.demo.images import photo, repost

    original = photo("bulletin-race-1.jpg", size=(480, 360))
    copies = [original, repost(original, "@first"), repost(original, "@second")]
    # the third copy smaller and recompressed: a different file, the same picture
    img = Image.open(io.BytesIO(copies[2]))
    buf = io.BytesIO()
    img.resize((360, 270)).save(buf, "JPEG", quality=70)
    copies[2] = buf.getvalue()
    assert len({c for c in copies}) == 3
    home = tmp_path / "home"
    (home / "warcs").mkdir(parents=True)
    with postgres_server() as url:
        for rounds in range(2):  # twice: the second round finds the first round's cluster in the store
            names = [f"w{i}-r{rounds}.warc.gz" for i in range(3)]
            offsets = [_warc_with(home / "warcs" / n, c if rounds == 0 else repost(c, "@again"), f"http://x/{n}")
                       for n, c in zip(names, copies)]
            start = time.time() + 8.0
            env = {**os.environ, "PYTHONPATH": str(ROOT), "TAWTHIQ_HOME": str(home)}
            procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(home), url, n, str(o), str(start)],
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for n, o in zip(names, offsets)]
            results = []
            for p in procs:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0, err[-3000:]
                results.append(json.loads(out.strip().splitlines()[-1]))
            clusters = {r["cluster"] for r in results}
            assert len(clusters) == 1, results
            assert sum(1 for r in results if r["matched"] is None) == (1 if rounds == 0 else 0), results
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("select cluster, count(*) from near_duplicates group by cluster")).all()
        engine.dispose()
        assert len(rows) == 1 and rows[0][1] == 6, rows
