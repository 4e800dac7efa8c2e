"""A generated corpus the size of a documentation centre's archive: synthetic posts (no real
people) built from an Arabic and English vocabulary with a Zipf-like word frequency, with
diacritics, variant spellings and attached prefixes sprinkled in as real Arabic posts have them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

AR_WORDS = (
    "قصف مستشفى حلب مدينة ريف سوق شهيد جرحى أطفال مدرسة غارة طيران مجزرة نزوح قرية مسعف إسعاف "
    "الدفاع المدني مخيم ضحايا انفجار برميل صاروخ حي منزل عائلة امرأة رجل طفلة مركز صحي طبيب ممرض "
    "خبز فرن ماء كهرباء حصار معبر قافلة مساعدات شتاء برد مطر ثلج طريق جسر مسجد كنيسة جامعة طالب "
    "توثيق شاهد صورة فيديو تقرير بيان نشرة وفاة تعزية اعتقال سجن مفقود عودة إعمار بناء"
).split()
EN_WORDS = (
    "airstrike hospital town market school children killed wounded shelling civil defence bakery "
    "water power siege crossing convoy aid winter rain snow road bridge mosque church university "
    "report statement witness photo video bulletin detained missing return rebuild family medic"
).split()
DIACRITICS = "\u064e\u064f\u0650\u0651\u0652"
PREFIXES = ("ال", "وال", "بال", "و", "ب", "")


def _variant(word: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.15:
        word = rng.choice(PREFIXES) + word
    elif r < 0.2:
        word = "".join(c + (rng.choice(DIACRITICS) if rng.random() < 0.5 else "") for c in word)
    elif r < 0.25:
        word = word.replace("ة", "ه").replace("أ", "ا").replace("ى", "ي")
    return word


def synthetic_words(rng: random.Random, n: int) -> list[str]:
    """Rare words: place and person names of no real person (random Arabic letter strings)."""
    letters = "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 7))) for _ in range(n)]


def posts(count: int, seed: int = 1) -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    rare = synthetic_words(rng, 50_000)
    channels = [f"channel_{i:03d}" for i in range(300)]
    start = datetime(2012, 1, 1, tzinfo=timezone.utc)
    for n in range(count):
        english = rng.random() < 0.2
        vocab = EN_WORDS if english else AR_WORDS
        length = rng.randint(12, 60)
        words = []
        for _ in range(length):
            r = rng.random()
            if r < 0.7:
                words.append(vocab[min(int(rng.paretovariate(1.2)) - 1, len(vocab) - 1)])
            elif r < 0.95:
                words.append(rng.choice(vocab))
            else:
                words.append(rng.choice(rare))
        if not english:
            words = [_variant(w, rng) for w in words]
        source = rng.choice(channels)
        yield {
            "platform": "telegram" if n % 5 else "feed", "source": source, "post_id": f"{source}/{n}",
            "url": f"https://t.me/{source}/{n}", "author": source.replace("_", " "),
            "published": (start + timedelta(minutes=n * 5)).isoformat(), "text": " ".join(words),
            "language": "en" if english else "ar",
            "media": [{"kind": "photo"}] if n % 3 == 0 else ([{"kind": "video"}] if n % 7 == 0 else []),
            "warc": {"file": "bench.warc.gz", "offset": n * 2000, "length": 1800},
        }


def queries(count: int, seed: int = 2) -> list[str]:
    """A researcher's mix: single words, two and three words, phrases, OR, exclusions, prefixes,
    filters and date ranges."""
    rng = random.Random(seed)
    forms = [
        lambda: rng.choice(AR_WORDS),
        lambda: f"{rng.choice(AR_WORDS)} {rng.choice(AR_WORDS)}",
        lambda: f"{rng.choice(AR_WORDS)} {rng.choice(AR_WORDS)} {rng.choice(AR_WORDS)}",
        lambda: f'"{rng.choice(AR_WORDS)} {rng.choice(AR_WORDS)}"',
        lambda: f"{rng.choice(AR_WORDS)} OR {rng.choice(EN_WORDS)}",
        lambda: f"{rng.choice(AR_WORDS)} -{rng.choice(AR_WORDS)}",
        lambda: f"{rng.choice(AR_WORDS)[:3]}*",
        lambda: f"{rng.choice(EN_WORDS)} platform:feed",
        lambda: f"{rng.choice(AR_WORDS)} has:image since:{rng.randint(2012, 2020)}-0{rng.randint(1, 9)}",
        lambda: f"{rng.choice(AR_WORDS)} source:channel_{rng.randint(0, 299):03d}",
    ]
    return [forms[i % len(forms)]() for i in range(count)]
