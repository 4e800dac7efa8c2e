"""Precision and recall of the matcher on real photographs and their edited copies.

Recall: each edited copy is looked up in an archive holding the originals (and the template
bulletins); it counts when its own original is among the verified matches.
Precision: every item (originals, bulletins, every edited copy, in a shuffled order) is added to
one archive, each compared with all before it; every verified pair is checked against the truth
(same original or not), so precision covers all pairs of the whole set.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from bench.dedupe import corpus
from tawthiq.dedupe.matcher import Item, Matcher
from tawthiq.dedupe.signature import analyse_image


@dataclass
class Quality:
    recall: dict[str, tuple[int, int]] = field(default_factory=dict)  # edit -> (found, total)
    tier_of: dict[str, str] = field(default_factory=dict)
    true_pairs: int = 0
    false_pairs: list[tuple[str, str, str]] = field(default_factory=list)
    misses: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def precision(self) -> float:
        total = self.true_pairs + len(self.false_pairs)
        return self.true_pairs / total if total else 1.0

    def tier_recall(self, tier: str) -> float:
        found = sum(f for e, (f, _) in self.recall.items() if self.tier_of[e] == tier)
        total = sum(t for e, (_, t) in self.recall.items() if self.tier_of[e] == tier)
        return found / total if total else 1.0

    def table(self) -> list[dict[str, Any]]:
        return [{"edit": e, "tier": self.tier_of[e], "found": f, "total": t, "recall": round(f / t, 4),
                 "target": corpus.TIERS[self.tier_of[e]].target} for e, (f, t) in self.recall.items()]


def measure(seed: int = 9) -> Quality:
    started = time.perf_counter()
    originals = corpus.originals()
    bulletins = corpus.bulletins()
    variants = corpus.variants(originals)
    analysed = {name: analyse_image(corpus.jpeg_bytes(img)) for name, img in {**originals, **bulletins}.items()}
    edited = [(f"{name}~{edit}", name, tier, edit, analyse_image(corpus.jpeg_bytes(img)))
              for name, tier, edit, img in variants]
    q = Quality()

    base = Matcher()
    for name, a in analysed.items():
        base.add(Item(name, "image", a.signature, name), a)
    for key, origin, tier, edit, a in edited:
        q.tier_of[edit] = tier
        found = {m.item.key for m in base.matches(a)}
        hit = origin in found
        f, t = q.recall.get(edit, (0, 0))
        q.recall[edit] = (f + hit, t + 1)
        if not hit:
            q.misses.setdefault(edit, []).append(origin)
        q.false_pairs += [(key, other, "vs originals") for other in found if other != origin]

    everything = [(name, name, a) for name, a in analysed.items()] + [(k, o, a) for k, o, _, _, a in edited]
    random.Random(seed).shuffle(everything)
    origin_of = {key: origin for key, origin, _ in everything}
    allpairs = Matcher(cache=len(everything))
    for key, origin, a in everything:
        for m in allpairs.matches(a):
            if origin_of[m.item.key] == origin:
                q.true_pairs += 1
            else:
                q.false_pairs.append((key, m.item.key, "all pairs"))
        allpairs.add(Item(key, "image", a.signature, key), a)
    q.seconds = time.perf_counter() - started
    return q


if __name__ == "__main__":
    result = measure()
    for row in result.table():
        print(row)
    print("precision", round(result.precision, 5), "true pairs", result.true_pairs, "false", result.false_pairs[:10])
    print("misses", result.misses)
    print("seconds", round(result.seconds, 1))
