"""`tawthiq dedupe recluster`: cluster the archive's stored items again with other thresholds,
as a new clustering version, and accept it (or go back to an earlier one).

Proposing re-runs the matcher over every item in the order it was first assigned (the
catalog's near_duplicates ids), re-reading each photo from its WARC file for verification, as a
capture does; the result is saved as one version in one transaction, so an interrupted run
leaves nothing and can simply be run again. The first proposal also saves the capture-time
clustering as version 1, the accepted one, so there is always a version to go back to.
Proposing twice with the same thresholds over the same items gives the existing proposal back.

Nothing changes for search, the web app or later captures until a version is accepted.
Accepting writes a `clustering` metadata record into the archive holding the items whose
cluster changes; the catalog applies it in one transaction (the same path as `reindex`), so the
WARC files still hold the clustering that is in force. Items captured after the proposal keep
their assignment, moved to the new cluster of the item they matched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tawthiq import __version__
from tawthiq.archivers.archiver import Archiver
from tawthiq.archivers.writer import WarcWriter
from tawthiq.catalog.store import Catalog
from tawthiq.dedupe.hamming import MAX_RADIUS as HAMMING_MAX_RADIUS
from tawthiq.dedupe.images import ImageRejected
from tawthiq.dedupe.matcher import HASH_RADIUS, Assignment, Matcher
from tawthiq.dedupe.signature import Analysed, analyse_image
from tawthiq.dedupe.video import VideoSignature
from tawthiq.errors import NotFound, UserError
from tawthiq.near_duplicates import NearDuplicates, signature_from
from tawthiq.settings import Settings

log = logging.getLogger("tawthiq.dedupe")


@dataclass
class Proposal:
    version: int
    items: int
    clusters: int  # in the proposal
    clusters_now: int  # in the accepted clustering
    moved: int  # items whose cluster would change
    kept: list[str]  # items whose bytes could not be re-read: their cluster is kept, not guessed
    existing: bool  # the same proposal was there already


def _row(sha: str, a: Assignment) -> dict[str, Any]:
    return {"sha256": sha, "cluster": a.cluster, "matched": a.matched, "method": a.method,
            "distance": a.distance, "detail": a.detail or None}


def propose(settings: Settings, catalog: Catalog, *, radius: int = HASH_RADIUS, use_local: bool = True) -> Proposal:
    rows = catalog.near_duplicates()
    if not rows:
        raise NotFound("no near-duplicate items in the archive yet (nothing to recluster)")
    last_row = max(r.id for r in rows)
    how = {"radius": radius, "local": use_local, "last_row": last_row, "software": __version__}
    current = {r.sha256: r.cluster for r in rows}
    for v in reversed(catalog.clustering_versions()):
        same = {k: v.settings.get(k) for k in ("radius", "local", "last_row")} == \
            {k: how[k] for k in ("radius", "local", "last_row")}
        if same and v.state == "proposed":
            old = {c.sha256: c.cluster for c in catalog.clustering(v.version)}
            return Proposal(v.version, v.items, v.clusters, len(set(current.values())),
                            sum(1 for s, c in old.items() if current.get(s) != c), [], True)
    near = NearDuplicates(settings, catalog)
    for r in rows:
        if r.warc_file:
            near._where[r.sha256] = (r.warc_file, int(r.warc_offset or 0))
    # the capture's text check holds here too: notices of different people never fold, whatever
    # thresholds a reclustering tries (issue 16)
    matcher = Matcher(near._pixels, radius=radius, use_local=use_local,
                      text_of=near._text_of if near.text_check else None)
    out: list[dict[str, Any]] = []
    kept: list[str] = []
    for r in rows:
        try:
            sig = signature_from(r.signature)
        except (ValueError, KeyError, TypeError):
            sig = None
        query: Any = sig
        if sig is not None and not isinstance(sig, VideoSignature):
            query = _reread(near, r.sha256)
        if query is None:  # unreadable now: its capture-time cluster stands, said in the output
            kept.append(r.sha256)
            out.append({"sha256": r.sha256, "cluster": r.cluster, "matched": r.matched, "method": r.method,
                        "distance": r.distance, "detail": {"kept": "bytes or signature unreadable at recluster"}})
            continue
        texts = (lambda sha=r.sha256: near.text_of_sha(sha)) if near.text_check and isinstance(query, Analysed) else None
        out.append(_row(r.sha256, matcher.assign(r.sha256, query, texts)))
    baseline = [{"sha256": r.sha256, "cluster": r.cluster, "matched": r.matched, "method": r.method,
                 "distance": r.distance, "detail": r.detail} for r in rows]
    version = catalog.save_clustering(settings=how, assignments=out, baseline=baseline)
    return Proposal(version, len(out), len({o["cluster"] for o in out}), len(set(current.values())),
                    sum(1 for o in out if current.get(o["sha256"]) != o["cluster"]), kept, False)


def _reread(near: NearDuplicates, sha256: str) -> Any:
    """A photo decoded and analysed again from its archived bytes, here or in a shared folder
    (near.archived); None if they cannot be read."""
    body = near.archived(sha256, "reclustering")
    if body is None:
        return None
    try:
        return analyse_image(body, max_pixels=near.settings.dedupe_max_pixels)
    except ImageRejected as exc:
        log.warning("cannot re-read %s for reclustering: %s", sha256, exc)
        return None


def accept(settings: Settings, catalog: Catalog, version: int) -> dict[str, Any]:
    """Make `version` the clustering in force; returns {version, moved, clusters, already}."""
    found = {v.version: v for v in catalog.clustering_versions()}
    if version not in found:
        raise NotFound(f"no clustering version {version} (see `tawthiq dedupe clusterings`)")
    if found[version].state == "accepted":
        return {"version": version, "moved": 0, "clusters": found[version].clusters, "already": True}
    wanted = {c.sha256: c for c in catalog.clustering(version)}
    rows = catalog.near_duplicates()
    new_cluster: dict[str, str] = {}
    changes: dict[str, dict[str, Any]] = {}
    for r in rows:  # id order: an item captured later follows the item it matched
        c = wanted.get(r.sha256)
        target: dict[str, Any]
        if c is not None:
            target = {"cluster": c.cluster, "matched": c.matched, "method": c.method, "distance": c.distance,
                      "detail": c.detail}
        else:
            moved_to = new_cluster.get(r.matched or "") or new_cluster.get(r.cluster) or r.cluster
            target = {"cluster": moved_to, "matched": r.matched, "method": r.method, "distance": r.distance,
                      "detail": r.detail}
        new_cluster[r.sha256] = str(target["cluster"])
        if (target["cluster"], target["matched"], target["method"], target["distance"]) != \
                (r.cluster, r.matched, r.method, r.distance):
            changes[r.sha256] = target
    document = {"type": "clustering", "version": version, "settings": found[version].settings,
                "created": found[version].created, "accepted": datetime.now(timezone.utc).isoformat(),
                "items": len(rows), "clusters": len(set(new_cluster.values())), "changes": changes}
    writer = WarcWriter(settings.warcs_dir, prefix=settings.warc_prefix, max_size=settings.warc_max_size,
                        warcinfo_fields={"software": f"tawthiq/{__version__}", "format": "WARC File Format 1.1",
                                         "isPartOf": settings.collection,
                                         "operator": settings.operator or "(not set)",
                                         "tawthiq-clustering": str(version)})
    archiver = Archiver(writer, None, [catalog])
    try:
        archiver.metadata(f"urn:tawthiq:clustering:{version}", document, kind="clustering")
    finally:
        archiver.close()
        catalog.flush()
    return {"version": version, "moved": len(changes), "clusters": document["clusters"], "already": False}


def check_radius(radius: int) -> int:
    if not 0 <= radius <= HAMMING_MAX_RADIUS:  # what the in-memory multi-index search can answer exactly
        raise UserError(f"--radius must be between 0 and {HAMMING_MAX_RADIUS} bits, not {radius}")
    return radius
