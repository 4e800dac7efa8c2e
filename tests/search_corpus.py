"""A generated corpus for the shared search suite: synthetic posts (invented people and places)
in Arabic with and without diacritics and with variant spellings, English, and mixed text.

Each post is a post document as the archive stores it (`Post.model_dump(mode="json")`), so the
suite indexes exactly what captures and rebuilds index.
"""

from __future__ import annotations

from typing import Any


def _post(n: int, text: str, *, platform: str = "telegram", source: str = "mithal_news",
          author: str = "أخبار المثال", lang: str = "ar", published: str = "2016-11-20T10:00:00+00:00",
          media: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    post_id = f"{source}/{n}" if platform == "telegram" else f"{source}-{n}"
    return {
        "platform": platform, "source": source, "post_id": post_id, "url": f"https://example.org/{source}/{n}",
        "author": author, "published": published, "text": text, "language": lang,
        "media": media or [], "warc": {"file": "test.warc.gz", "offset": n * 1000, "length": 900},
    }


PHOTO = [{"kind": "photo", "url": "https://example.org/p.jpg"}]
VIDEO = [{"kind": "video", "url": "https://example.org/v.mp4"}]

POSTS: dict[str, dict[str, Any]] = {
    # Arabic: the same hospital written five ways.
    "plain": _post(1, "قصف مستشفى القدس في حلب صباح اليوم", media=PHOTO),
    "article": _post(2, "خروج المستشفى عن الخدمة بعد الغارة", published="2016-11-05T08:00:00+00:00"),
    "clitic": _post(3, "نقل الجرحى بالمستشفى الميداني في حلب", published="2016-12-12T08:00:00+00:00", media=VIDEO),
    "diacritics": _post(4, "المُسْتَشْفَى الوَطَنِيّ يَسْتَقْبِلُ الجَرْحَى", source="shahid_channel",
                        author="شاهد", published="2016-10-01T08:00:00+00:00"),
    "tatweel": _post(5, "مستشفـــى الأطفال في إدلب", source="shahid_channel", author="شاهد",
                     published="2017-01-03T08:00:00+00:00", media=PHOTO),
    # Spelling variants: ta marbuta / ha, alef forms, alef maqsura / ya, Arabic-Indic digits.
    "ta_marbuta": _post(6, "مجزرة في سوق المدينة", published="2016-12-10T09:00:00+00:00"),
    "ha_spelling": _post(7, "مجزره جديده في الريف", published="2016-12-11T09:00:00+00:00"),
    "alef": _post(8, "إسعاف أطفال آخرين من تحت الأنقاض", published="2016-12-01T09:00:00+00:00"),
    "digits": _post(9, "حصيلة ٢٠١٦: ٣٤ شهيداً", published="2016-12-31T09:00:00+00:00"),
    "training": _post(10, "دورة تدريب في مستشفى القدس للممرضين", published="2016-11-21T09:00:00+00:00"),
    "separated": _post(11, "القدس: افتتاح جناح جديد في مستشفى المدينة", published="2016-11-22T09:00:00+00:00"),
    # English.
    "english": _post(12, "Airstrikes hit two hospitals in Example Town; the field hospital closed.",
                     platform="feed", source="https://news.example.org/feed.xml", author="Example News Desk",
                     lang="en", published="2016-11-15T12:00:00+00:00", media=PHOTO),
    "english2": _post(13, "Volunteers rebuild the bakery after the bombing.", platform="feed",
                      source="https://news.example.org/feed.xml", author="Example News Desk", lang="en",
                      published="2016-11-16T12:00:00+00:00"),
    # Mixed: Arabic and English in one post.
    "mixed": _post(14, "Breaking: قصف مستشفى in Example Town — hospital evacuated", source="shahid_channel",
                   author="شاهد", lang="ar", published="2016-11-23T12:00:00+00:00", media=VIDEO),
    "unrelated": _post(15, "حالة الطقس: أمطار غزيرة غداً", published="2016-11-24T12:00:00+00:00"),
}


def key_of(hit_id: str) -> str:
    for key, post in POSTS.items():
        if f"{post['platform']}:{post['post_id']}" == hit_id:
            return key
    raise KeyError(hit_id)


# query -> the posts it must find (exactly)
EXPECTED: dict[str, set[str]] = {
    # diacritics, tatweel, article and attached preposition all meet the bare word
    "مستشفى": {"plain", "article", "clitic", "diacritics", "tatweel", "training", "separated", "mixed"},
    "المستشفى": {"plain", "article", "clitic", "diacritics", "tatweel", "training", "separated", "mixed"},
    "المُسْتَشْفَى": {"plain", "article", "clitic", "diacritics", "tatweel", "training", "separated", "mixed"},
    # ta marbuta and ha spellings meet, in both directions
    "مجزرة": {"ta_marbuta", "ha_spelling"},
    "مجزره": {"ta_marbuta", "ha_spelling"},
    # alef forms
    "اطفال": {"alef", "tatweel"},
    "اسعاف": {"alef"},
    # Arabic-Indic digits and ASCII digits
    "2016": {"digits"},
    "٢٠١٦": {"digits"},
    # English stemming and case
    "hospital": {"english", "mixed"},
    "Hospitals": {"english", "mixed"},
    "bombing": {"english2"},
    # all terms must match; mixed-language post found from either language
    "مستشفى hospital": {"mixed"},
    "قصف حلب": {"plain"},
    # exact phrase: adjacent and in order only (not "separated", where القدس comes first)
    '"مستشفى القدس"': {"plain", "training"},
    '"field hospital"': {"english"},
    # exclusion
    '"مستشفى القدس" -تدريب': {"plain"},
    "مستشفى -حلب -hospital": {"article", "diacritics", "tatweel", "training", "separated"},
    # OR and grouping
    "مجزرة OR bakery": {"ta_marbuta", "ha_spelling", "english2"},
    "(مجزرة OR اسعاف) -سوق": {"ha_spelling", "alef"},
    # prefixes, on words with their article stripped
    "مستش*": {"plain", "article", "clitic", "diacritics", "tatweel", "training", "separated", "mixed"},
    "hosp*": {"english", "mixed"},
    "volunt*": {"english2"},
    # field filters
    "مستشفى platform:telegram source:shahid_channel": {"diacritics", "tatweel", "mixed"},
    "platform:feed": {"english", "english2"},
    "source:SHAHID_CHANNEL": {"diacritics", "tatweel", "mixed"},
    'author:"Example News Desk"': {"english", "english2"},
    "lang:en": {"english", "english2"},
    "has:image": {"plain", "tatweel", "english"},
    "has:video": {"clitic", "mixed"},
    "has:media": {"plain", "clitic", "tatweel", "english", "mixed"},
    # dates: since includes its day, until includes the whole day/month it names
    "مستشفى since:2016-11-20": {"plain", "clitic", "tatweel", "training", "separated", "mixed"},
    "مستشفى until:2016-11": {"article", "diacritics", "plain", "training", "separated", "mixed"},
    "since:2016-12-10 until:2016-12-11": {"ta_marbuta", "ha_spelling"},
    "مجزرة since:2016-12-11": {"ha_spelling"},
    # only exclusions: everything else
    "-مستشفى -مجزرة -2016 -اطفال": {"english", "english2", "unrelated"},
}

# Queries that must be refused with a message pointing at the problem.
MALFORMED = {
    "(مستشفى حلب": "never closed",
    "مستشفى)": "no matching",
    "مستشفى OR": "OR needs something on its right",
    "OR مستشفى": "OR needs something on its left",
    "since:2016-13-40": "is not a date",
    "colour:red": "unknown filter",
    "has:audio": "has: takes",
    "platform:": "needs a value",
    "a*": "at least two letters",
    "": "empty query",
}
