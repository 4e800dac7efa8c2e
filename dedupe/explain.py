"""Why two files are, or are not, near-duplicates (`tawthiq dedupe explain A B`).

Runs the same steps the matcher runs, on one pair, and reports every measurement: the pHash
distances (whole against whole, and the closest whole-against-view pair), the check of the
pixels aligned by that view, the local-feature check, and the verdict.
"""

from __future__ import annotations

from typing import Any

from tawthiq.dedupe import hashes, local
from tawthiq.dedupe.matcher import HASH_RADIUS, Item, Matcher, view_distance
from tawthiq.dedupe.signature import Analysed
from tawthiq.dedupe.video import VideoSignature, compare


def explain(a: Analysed | VideoSignature, b: Analysed | VideoSignature) -> dict[str, Any]:
    if isinstance(a, VideoSignature) or isinstance(b, VideoSignature):
        if not (isinstance(a, VideoSignature) and isinstance(b, VideoSignature)):
            return {"kind": "mixed", "verdict": "different", "reason": "one is an image, the other a video"}
        v = compare(a, b)
        return {"kind": "video", "verdict": "near-duplicates" if v.matched else "different", "method": "video",
                **v.as_dict(), "duration": [a.duration, b.duration]}
    sa, sb = a.signature, b.signature
    bits, va, vb = view_distance(sa, sb)
    out: dict[str, Any] = {
        "kind": "image",
        "phash": [hashes.to_hex(sa.whole), hashes.to_hex(sb.whole)],
        "whole_distance": int(hashes.hamming(sa.whole, sb.whole)),
        "closest_views": {"distance": bits, "a": hashes.VIEW_NAMES[va], "b": hashes.VIEW_NAMES[vb],
                          "candidate": bits <= HASH_RADIUS},
    }
    mirrored = (va == hashes.MIRROR) != (vb == hashes.MIRROR)
    matrix = local.view_matrix(a.gray.shape, b.gray.shape, hashes.view_boxes(sa.main)[va],
                               hashes.view_boxes(sb.main)[vb], mirrored=mirrored)
    al = local.check_aligned(a.gray, b.gray, matrix)
    out["aligned_by_view"] = {"coverage": round(al.coverage, 3), "agreement": round(al.agreement, 3),
                              "disagreeing_patch": al.patch,
                              "passes": local.accept(al) and local.framed_pictures_agree(a.gray, b.gray, matrix,
                                                                                         sa.main, sb.main)}
    verdict = local.verify(a.gray, b.gray, a.features, b.features, main_a=sa.main, main_b=sb.main)
    out["local_features"] = verdict.as_dict()
    # what the matcher itself decides for this pair (candidates included)
    m = Matcher()
    m.add(Item("b", "image", sb), b)
    found = m.matches(a)
    out["verdict"] = "near-duplicates" if found else "different"
    out["method"] = found[0].method if found else None
    return out
