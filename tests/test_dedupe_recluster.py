"""`tawthiq dedupe recluster` (issue 18): the demo channel's reposted bulletin photos (generated
images, cropped, stamped and recompressed) clustered again with stricter thresholds as a new
version; nothing changes until it is accepted; accepting is written to the archive, so a rebuilt
catalog keeps it; the capture-time clustering can be gone back to."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import Demo, all_records, query, run_tawthiq


def _clusters(data_dir: Path) -> list[dict]:
    out = run_tawthiq(["dedupe", "clusters", "--json"], data_dir=data_dir)
    assert out.code == 0, out.err
    return json.loads(out.out)["clusters"]


def _version(text: str) -> int:
    found = re.search(r"clustering version (\d+)", text)
    assert found, text
    return int(found.group(1))


def test_recluster_proposes_a_version_and_accepting_it_changes_the_clusters(demo: Demo, data_dir: Path) -> None:
    assert run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env).code == 0
    before = _clusters(data_dir)
    assert before and all(c["size"] == 2 for c in before)
    items = query(data_dir, "select count(*) from near_duplicates")[0][0]

    # the capture's own thresholds give the capture's clusters back: nothing would change
    same = run_tawthiq(["dedupe", "recluster"], data_dir=data_dir)
    assert same.code == 0, same.out + same.err
    assert "0 item(s) would change cluster" in same.out and _version(same.out) == 2
    # hash-aligned matches only, at radius 0: the cropped and stamped copies no longer match
    strict = run_tawthiq(["dedupe", "recluster", "--radius", "0", "--no-local"], data_dir=data_dir)
    assert strict.code == 0, strict.out + strict.err
    version = _version(strict.out)
    assert version == 3
    moved = int(re.search(r"(\d+) item\(s\) would change cluster", strict.out).group(1))  # type: ignore[union-attr]
    assert moved >= 1
    # run again with the same thresholds: the same proposal, not a new one
    again = run_tawthiq(["dedupe", "recluster", "--radius", "0", "--no-local"], data_dir=data_dir)
    assert "already proposed as clustering version 3" in again.out
    # proposed only: the clusters in force are the capture's
    assert _clusters(data_dir) == before
    listed = json.loads(run_tawthiq(["dedupe", "clusterings", "--json"], data_dir=data_dir).out)["versions"]
    assert [(v["version"], v["state"]) for v in listed] == [(1, "accepted"), (2, "proposed"), (3, "proposed")]
    assert listed[0]["items"] == items and listed[0]["clusters"] == items - len(before)

    accepted = run_tawthiq(["dedupe", "recluster", "--accept", "3"], data_dir=data_dir)
    assert accepted.code == 0, accepted.out + accepted.err
    assert f"{moved} item(s) changed cluster" in accepted.out
    after = _clusters(data_dir)
    assert len(after) == len(before) - moved  # each split pair leaves the list of clusters of 2+
    states = {v["version"]: v["state"] for v in
              json.loads(run_tawthiq(["dedupe", "clusterings", "--json"], data_dir=data_dir).out)["versions"]}
    assert states == {1: "superseded", 2: "proposed", 3: "accepted"}
    # accepting twice is a no-op; going back to the capture-time clustering restores it
    assert "already the one in force" in run_tawthiq(["dedupe", "recluster", "--accept", "3"], data_dir=data_dir).out
    back = run_tawthiq(["dedupe", "recluster", "--accept", "1"], data_dir=data_dir)
    assert back.code == 0 and f"{moved} item(s) changed cluster" in back.out, back.out + back.err
    assert _clusters(data_dir) == before
    assert run_tawthiq(["dedupe", "recluster", "--accept", "3"], data_dir=data_dir).code == 0
    assert _clusters(data_dir) == after
    # each decision is in the archive: a clustering record naming the items it moved
    records = [r.document for r in all_records(data_dir) if r.rec_type == "metadata" and r.kind == "clustering"]
    assert [(d["version"], len(d["changes"])) for d in records] == [(3, moved), (1, moved), (3, moved)]
    # a catalog rebuilt from the WARC files has the accepted clustering (applied in archive order)
    (data_dir / "catalog.sqlite").unlink()
    assert run_tawthiq(["reindex"], data_dir=data_dir).code == 0
    assert _clusters(data_dir) == after

    # a bad version or threshold: one line, exit 2, no traceback
    bad = run_tawthiq(["dedupe", "recluster", "--accept", "9"], data_dir=data_dir)
    assert bad.code != 0 and "no clustering version 9" in bad.err and "Traceback" not in bad.err
    worse = run_tawthiq(["dedupe", "recluster", "--radius", "99"], data_dir=data_dir)
    assert worse.code == 2 and "--radius" in worse.err and "Traceback" not in worse.err
    # past what the multi-index search answers exactly (11 bits): refused, not a traceback
    wide = run_tawthiq(["dedupe", "recluster", "--radius", "16"], data_dir=data_dir)
    assert wide.code == 2 and "between 0 and 11" in wide.err and "Traceback" not in wide.err
