"""Which archived items is a new image or video a near-duplicate of, and which cluster it joins.

Candidates come from the two indexes (hash views within a radius; shared local descriptors);
every candidate is then verified on the pixels (dedupe.local), because a close hash alone is not
proof: two bulletins from one template hashed 2 bits apart in our tests. Only verified pairs are
matches. A new item joins the cluster of its best match and never merges two clusters (a collage
holding two people's portraits must not fold their bulletins together); an item with no match
starts its own cluster. Nothing is ever removed: a cluster only groups copies.

Items live in memory (a folder for `tawthiq dedupe scan`, this run's new items) and, for an
archive, in the on-disk store (dedupe.stored: `stored=`), whose items are fetched on demand. The
caller gives a way to fetch an item's pixels again for verification.

Text-bearing images are also verified on their text (dedupe.notice_text, issue 16): two death
notices of one template can agree on every pixel but the name. With `text_of` (an item's OCR
text, computed or looked up by the caller) and a query's `query_text`, a pair whose pixels agree
is still no match when their texts name different people. The text is asked for only once the
pixels agree, so a photograph costs no OCR, and neither does a notice unlike any other.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tawthiq.dedupe import hashes, keypoints, local
from tawthiq.dedupe.notice_text import ImageText, names_differ
from tawthiq.dedupe.hamming import HammingIndex
from tawthiq.dedupe.signature import Analysed, ImageSignature
from tawthiq.dedupe.stored import StoredItems
from tawthiq.dedupe.video import FRAME_RADIUS, VideoSignature, compare

HASH_RADIUS = 10  # pHash bits between a whole image and a view of the other
STORED = 1 << 40  # item numbers from this up are the store's (STORED + its item number)
VOTED = 24  # items taken from the descriptor index for geometric re-ranking
MIN_QUICK_INLIERS = 5
LOCAL_CANDIDATES = 6  # the best re-ranked items get verified on the pixels
QUERY_DESCRIPTORS = 3000
VIEWS = len(hashes.VIEW_NAMES)

MAX_TEXT_CHECKED = 8  # candidates whose text is checked for one query; past them, kept apart unread


@dataclass(frozen=True)
class TextUnknown:
    """An image whose text could not be read (OCR failed or timed out, its archived bytes are
    not on this machine): distinct from None, "no text", because it proves nothing either way."""

    error: str


TextOf = Callable[["Item"], "ImageText | TextUnknown | None"]
QueryText = Callable[[], "ImageText | TextUnknown | None"]


@dataclass
class Item:
    key: str  # a media file's sha256 in the archive, a path in a folder scan
    kind: str  # image | video
    signature: ImageSignature | VideoSignature = field(repr=False)
    cluster: str = ""  # the key of the cluster's first item
    distance: int | None = None  # pHash bits to the cluster's first item (images)


@dataclass
class Match:
    item: Item
    method: str  # "hash" (aligned by the matching view), "local" (features + geometry), "video"
    distance: int | None  # smallest pHash distance, whole against any view, either way round
    detail: dict[str, Any] = field(default_factory=dict)

    def rank(self) -> tuple[int, int]:
        return ({"hash": 0, "video": 0, "local": 1}[self.method], self.distance if self.distance is not None else 99)


@dataclass(frozen=True)
class Assignment:
    cluster: str
    matched: str | None  # the item it matched, None when it starts a cluster
    method: str | None
    distance: int | None  # to the cluster's first item
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "matched": self.matched, "method": self.method,
                "distance": self.distance, "detail": self.detail}


def view_distance(a: ImageSignature, b: ImageSignature) -> tuple[int, int, int]:
    """(bits, view of a, view of b): the closest whole-against-view pair, either way round."""
    da = hashes.hamming(a.phash[hashes.WHOLE], b.phash)
    db = hashes.hamming(b.phash[hashes.WHOLE], a.phash)
    ia, ib = int(da.argmin()), int(db.argmin())
    if da[ia] <= db[ib]:
        return int(da[ia]), hashes.WHOLE, ia
    return int(db[ib]), ib, hashes.WHOLE


class Matcher:
    def __init__(self, pixels: Callable[[Item], np.ndarray | None] | None = None, *, cache: int = 256,
                 stored: StoredItems | None = None, radius: int = HASH_RADIUS, use_local: bool = True,
                 text_of: TextOf | None = None) -> None:
        self.stored = stored
        self.text_of = text_of
        self.text_rejections: list[tuple[str, str]] = []  # (query's first name slot, item key): the last call's
        self.text_unread: list[str] = []  # item keys kept apart because a text could not be read or checked
        self._text_checked = 0
        self.radius = radius  # pHash bits for hash candidates (a reclustering may change it)
        self.use_local = use_local  # False: hash-aligned matches only, no descriptor candidates
        self.items: list[Item] = []
        self.by_key: dict[str, int] = {}
        self.views = HammingIndex()  # payload: item * VIEWS + view
        self.descriptors = keypoints.DescriptorIndex()
        self.frames = HammingIndex()  # payload: item
        self.pixels = pixels
        self._cache: OrderedDict[int, tuple[np.ndarray, local.Features]] = OrderedDict()
        self._cache_size = cache

    def __len__(self) -> int:
        return len(self.items) + (len(self.stored) if self.stored is not None else 0)

    def item(self, n: int) -> Item | None:
        if n >= STORED:
            return self.stored.item(n - STORED) if self.stored is not None else None
        return self.items[n]

    def find(self, key: str) -> Item | None:
        """An item by key: this matcher's own, or (through the store's fetch) a stored one."""
        if key in self.by_key:
            return self.items[self.by_key[key]]
        return self.stored.fetch(key) if self.stored is not None else None

    # -- filling ---------------------------------------------------------------------------
    def add(self, item: Item, analysed: Analysed | None = None) -> int:
        n = len(self.items)
        self.items.append(item)
        self.by_key[item.key] = n
        sig = item.signature
        if isinstance(sig, ImageSignature):
            self.views.add(sig.phash, n * VIEWS + np.arange(VIEWS))
            self.descriptors.add(n, sig.descriptors)
            if analysed is not None:
                self._remember(n, analysed.gray, analysed.features)
        else:
            self.frames.add(sig.frames, n)
        return n

    def remember(self, n: int, analysed: Analysed) -> None:
        """Keep an item's decoded pixels for verifying later items against it."""
        self._remember(n, analysed.gray, analysed.features)

    def _remember(self, n: int, gray: np.ndarray, feats: local.Features) -> None:
        self._cache[n] = (gray, feats)
        self._cache.move_to_end(n)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _pixels_of(self, n: int) -> tuple[np.ndarray, local.Features] | None:
        if n in self._cache:
            self._cache.move_to_end(n)
            return self._cache[n]
        item = self.item(n)
        gray = self.pixels(item) if self.pixels and item is not None else None
        if gray is None:
            return None
        feats = local.features(gray)
        self._remember(n, gray, feats)
        return gray, feats

    # -- finding ---------------------------------------------------------------------------
    def matches(self, query: Analysed | VideoSignature, *, exclude: str | None = None,
                first_per_cluster: bool = False, enough: int | None = None,
                query_text: QueryText | None = None) -> list[Match]:
        """Verified near-duplicates of `query` among the items, best first. To place a new item,
        one verified member per cluster and a few clusters are `enough` (a cluster of 500 copies
        is not verified 500 times). `query_text`: the query's OCR text, asked for only when a
        candidate's pixels agree (see the module docstring)."""
        self.text_rejections = []
        self.text_unread = []
        self._text_checked = 0
        if isinstance(query, VideoSignature):
            return self._video_matches(query, exclude)
        return self._image_matches(query, exclude, first_per_cluster, enough, query_text)

    def _image_matches(self, query: Analysed, exclude: str | None, first_per_cluster: bool = False,
                       enough: int | None = None, query_text: QueryText | None = None) -> list[Match]:
        sig = query.signature
        hinted: dict[int, tuple[int, int, int]] = {}  # item -> (bits, query view, item view)
        for qv, value in enumerate(sig.phash):
            payload, dist = self.views.search(int(value), self.radius) if len(self.views) else (np.zeros(0), np.zeros(0))
            found_hits = [(p // VIEWS, d, p % VIEWS) for p, d in zip(payload.tolist(), dist.tolist())]
            if self.stored is not None:
                sn, sd, sv = self.stored.view_hits(qv, int(value), self.radius)
                found_hits += [(STORED + n, d, v) for n, d, v in zip(sn.tolist(), sd.tolist(), sv.tolist())]
            for n, d, iv in found_hits:
                if qv != hashes.WHOLE and iv != hashes.WHOLE:
                    continue  # a view against a view proves little (two crops of two photos)
                if n not in hinted or d < hinted[n][0]:
                    hinted[n] = (d, qv, iv)
        voted: list[int] = []
        if self.use_local:
            voted = self._shortlist(query.features)
            mirrored = local.features(np.ascontiguousarray(query.gray[:, ::-1]))
            voted += self._shortlist(mirrored)
        order = sorted(hinted, key=lambda k: hinted[k][0]) + [n for n in voted if n not in hinted]
        found: list[Match] = []
        seen: set[int] = set()
        seen_keys: set[str] = set()
        placed: set[str] = set()
        for n in order:
            if n in seen:
                continue
            seen.add(n)
            item = self.item(n)
            if item is None or item.key in seen_keys:
                continue  # unknown to the catalog, or the same item in memory and in the store
            seen_keys.add(item.key)
            if item.key == exclude or not isinstance(item.signature, ImageSignature):
                continue
            if first_per_cluster and item.cluster in placed:
                continue
            verdict = self._verify(query, n, hinted.get(n))
            if verdict is not None and not self._texts_agree(verdict, query_text):
                verdict = None
            if verdict is not None:
                found.append(verdict)
                placed.add(item.cluster)
                if enough is not None and len(found) >= enough:
                    break
        return sorted(found, key=Match.rank)

    def _texts_agree(self, match: Match, query_text: QueryText | None) -> bool:
        """False when both images carry text and it shows they name different people; also
        False (fail closed) when a text that could decide is unknown (OCR failed, bytes not
        here) or when MAX_TEXT_CHECKED candidates were text-checked already for this query
        (a new notice among many look-alike notices of other people costs bounded OCR)."""
        if self.text_of is None or query_text is None:
            return True
        mine = query_text()
        if mine is None:
            return True
        if self._text_checked >= MAX_TEXT_CHECKED:
            self.text_unread.append(match.item.key)
            return False
        self._text_checked += 1
        theirs = self.text_of(match.item)
        if isinstance(mine, TextUnknown) or isinstance(theirs, TextUnknown):
            known = mine if isinstance(mine, ImageText) else theirs if isinstance(theirs, ImageText) else None
            unknown = mine if isinstance(mine, TextUnknown) else theirs
            assert isinstance(unknown, TextUnknown)
            if (isinstance(mine, TextUnknown) and isinstance(theirs, TextUnknown)) or \
                    (known is not None and (known.names or known.heavy)):
                self.text_unread.append(match.item.key)
                return False
            match.detail["text"] = f"not compared: {unknown.error}"
            return True
        if names_differ(mine, theirs):
            self.text_rejections.append((" ".join(mine.names[0]) if mine.names else "", match.item.key))
            return False
        if theirs is None:
            match.detail["text"] = "no text on the matched image"
        else:
            match.detail["text"] = "names agree" if mine.names or theirs.names else "no names"
        return True

    def _shortlist(self, feats: local.Features) -> list[int]:
        """Items sharing descriptors with the query, re-ranked by how many of those agree on one
        geometry (from the stored positions alone): the few best go on to verification."""
        sources: list[tuple[keypoints.HitSource, int]] = [(self.descriptors, 0)]
        if self.stored is not None:
            sources.append((self.stored, STORED))
        voted = keypoints.candidates(sources, keypoints.select(feats, keep=QUERY_DESCRIPTORS), limit=VOTED)
        ranked = []
        for n, _ in voted:
            item = self.item(n)
            if item is None:
                continue
            sig = item.signature
            if isinstance(sig, ImageSignature):
                inliers = local.quick_inliers(feats, sig.descriptors, sig.points)
                if inliers >= MIN_QUICK_INLIERS:
                    ranked.append((inliers, n))
        return [n for _, n in sorted(ranked, reverse=True)[:LOCAL_CANDIDATES]]

    def _verify(self, query: Analysed, n: int, hint: tuple[int, int, int] | None) -> Match | None:
        item = self.item(n)
        assert item is not None
        sig = item.signature
        assert isinstance(sig, ImageSignature)
        bits = view_distance(query.signature, sig)[0]
        stored = self._pixels_of(n)
        if stored is None:
            return None  # pixels unavailable: no verified match (a hash alone is no proof)
        gray, feats = stored
        if hint is not None:
            _, qv, iv = hint
            mirrored = (qv == hashes.MIRROR) != (iv == hashes.MIRROR)
            matrix = local.view_matrix(query.gray.shape, gray.shape, hashes.view_boxes(query.signature.main)[qv],
                                       hashes.view_boxes(sig.main)[iv], mirrored=mirrored)
            al = local.check_aligned(query.gray, gray, matrix)
            if local.accept(al) and local.framed_pictures_agree(query.gray, gray, matrix, query.signature.main,
                                                                 sig.main) \
                    and local.content_share(query.gray, gray, matrix) >= local.MIN_CONTENT_SHARE:
                return Match(item, "hash", bits, {"view": [hashes.VIEW_NAMES[qv], hashes.VIEW_NAMES[iv]],
                                                  "coverage": round(al.coverage, 3),
                                                  "agreement": round(al.agreement, 3)})
        if not self.use_local:
            return None
        verdict = local.verify(query.gray, gray, query.features, feats, main_a=query.signature.main, main_b=sig.main)
        if verdict.matched:
            return Match(item, "local", bits, verdict.as_dict())
        return None

    def _video_matches(self, query: VideoSignature, exclude: str | None) -> list[Match]:
        counts: dict[int, int] = {}
        for value in query.frames:
            payload, _ = self.frames.search(int(value), FRAME_RADIUS) if len(self.frames) else (np.zeros(0, np.int64), None)
            near = set(payload.tolist())
            if self.stored is not None:
                near |= {STORED + n for n in self.stored.frame_hits(int(value), FRAME_RADIUS).tolist()}
            for n in near:
                counts[n] = counts.get(n, 0) + 1
        found = []
        keys: set[str] = set()
        for n in sorted(counts, key=lambda k: -counts[k]):
            item = self.item(n)
            if item is None or item.key in keys or item.key == exclude or not isinstance(item.signature, VideoSignature):
                continue
            keys.add(item.key)
            verdict = compare(query, item.signature)
            if verdict.matched:
                found.append(Match(item, "video", None, verdict.as_dict()))
        return sorted(found, key=lambda m: -max(m.detail["share_a"], m.detail["share_b"]))

    # -- clustering ------------------------------------------------------------------------
    def assign(self, key: str, query: Analysed | VideoSignature, query_text: QueryText | None = None) -> Assignment:
        """Find the new item's cluster (joining its best match's) and add it."""
        result = self.decide(key, query, query_text)
        if result.method != "identical":
            self.keep(key, query, result)
        return result

    def keep(self, key: str, query: Analysed | VideoSignature, result: Assignment) -> None:
        """Add an item with the cluster it was given (in memory, until the store has it)."""
        signature = query.signature if isinstance(query, Analysed) else query
        kind = "image" if isinstance(signature, ImageSignature) else "video"
        self.add(Item(key, kind, signature, result.cluster, result.distance),
                 query if isinstance(query, Analysed) else None)

    def decide(self, key: str, query: Analysed | VideoSignature, query_text: QueryText | None = None) -> Assignment:
        """The new item's cluster (its best match's, or its own), without adding it."""
        known = self.find(key)
        if known is not None:  # the same bytes again: same cluster
            return Assignment(known.cluster, known.key, "identical", known.distance, {})
        found = self.matches(query, first_per_cluster=True, enough=3, query_text=query_text)
        signature = query.signature if isinstance(query, Analysed) else query
        kind = "image" if isinstance(signature, ImageSignature) else "video"
        if found:
            best = found[0]
            cluster = best.item.cluster
            first = self.find(cluster) or best.item
            distance = (view_distance(signature, first.signature)[0]
                        if isinstance(signature, ImageSignature) and isinstance(first.signature, ImageSignature)
                        else None)
            return Assignment(cluster, best.item.key, best.method, distance, best.detail)
        detail: dict[str, Any] = {}
        if self.text_rejections:  # pixels agreed with these, the names did not: say so in the record
            detail["apart_by_text"] = [k for _, k in self.text_rejections]
        if self.text_unread:  # pixels agreed with these, their text could not be read or checked
            detail["apart_text_unread"] = list(self.text_unread)
        return Assignment(key, None, None, 0 if kind == "image" else None, detail)

    def clusters(self) -> dict[str, list[Item]]:
        out: dict[str, list[Item]] = {}
        for item in self.items:
            out.setdefault(item.cluster, []).append(item)
        return out
