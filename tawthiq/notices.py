"""Death notices as the archive lists them (issue 16): the `notices` rows with their evidence
(the image's sha256 and record, the "ocr" record they were read from, every post that carried
the image), filtered, and shaped for `tawthiq notices` and the web app alike.

A row is one image's reading: two images naming the same person are two rows (nothing is merged
across notices; a researcher decides), and exact copies of one image are one row with several posts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from tawthiq.catalog import Catalog
from tawthiq.errors import NotFound
from tawthiq.index.notices.extract import fold

CSV_COLUMNS = ("names", "age", "date_of_death", "calendar", "place", "cause", "confidence", "language",
               "post_ids", "post_urls", "image_sha256", "image_record_id", "ocr_record_id", "read_at")


@dataclass(frozen=True)
class NoticeFilter:
    source: str | None = None  # a post of this source carried the image
    since: datetime | None = None  # a post published (or first captured) from then carried it
    name: str | None = None  # words found in the names (letters folded as search folds them)
    min_confidence: float = 0.0  # the notice's (its weakest name's) confidence, 0-1

    def posts(self, posts: list[Any]) -> list[Any]:
        keep = posts
        if self.source:
            wanted = self.source.lower()
            keep = [p for p in keep if (p.source or "").lower() == wanted
                    or f"{p.platform}:{p.source or ''}".lower() == wanted]
        if self.since:
            keep = [p for p in keep if _when(p) is not None and _when(p) >= self.since]  # type: ignore[operator]
        return keep

    def names(self, names: list[str]) -> bool:
        if not self.name:
            return True
        wanted = [fold(w) for w in self.name.split() if fold(w)]
        return any(all(w in fold_words for w in wanted) for fold_words in
                   ({fold(x) for x in n.split()} for n in names))


def _when(post: Any) -> datetime | None:
    moment = post.published
    if moment is None and post.first_captured:
        try:
            moment = datetime.fromisoformat(post.first_captured.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


def _post(post: Any) -> dict[str, Any]:
    return {"platform": post.platform, "post_id": post.post_id, "source": post.source, "url": post.url,
            "published": post.published.isoformat() if post.published else None,
            "page": f"/post/{post.platform}/{post.post_id}"}


def list_notices(catalog: Catalog, wanted: NoticeFilter | None = None, *,
                 shas: list[str] | None = None) -> list[dict[str, Any]]:
    """The notices with their evidence, oldest reading first (a filter on posts drops a notice
    none of whose posts match; a notice of an image no post carries shows without posts);
    `shas`: only those read in these image files (a post's page)."""
    wanted = wanted or NoticeFilter()
    if wanted.source and not catalog.has_source(wanted.source):
        raise NotFound(f"source: no post archived from {wanted.source!r} (a channel name, e.g. "
                       "notices_chan or telegram:notices_chan)")
    out = []
    for row, posts in catalog.notices(shas):
        if not wanted.names(list(row.names)) or row.confidence < wanted.min_confidence:
            continue
        kept = wanted.posts(posts)
        if (wanted.source or wanted.since) and not kept:
            continue
        fields = row.fields or {}
        out.append({
            "names": list(row.names), "age": row.age, "date_of_death": row.date_of_death,
            "calendar": row.date_calendar, "place": row.place, "cause": row.cause, "language": row.language,
            "confidence": row.confidence, "image_sha256": row.sha256, "image_record_id": row.image_record_id,
            "ocr_record_id": row.ocr_record_id, "read_at": row.at, "extractor": row.extractor,
            "posts": [_post(p) for p in kept],
            "fields": {k: fields.get(k) for k in ("names", "age", "date", "place", "cause")},
            "markers": fields.get("markers") or [],
        })
    return out


# A cell a spreadsheet would run as a formula (OWASP "CSV Injection"): OCR text and captions are
# written by whoever made the image, so "=HYPERLINK(...)" in a notice must stay text when opened.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\ufe62", "\uff0b", "\ufe63", "\uff0d", "\uff20")


def _cell(value: Any) -> Any:
    """A value safe to open in a spreadsheet: text opening like a formula gets a leading "'"
    (OWASP's advice; the JSON output keeps the value as read). Numbers are left as numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_row(notice: dict[str, Any]) -> dict[str, Any]:
    """One notice as a CSV line: lists joined by " | ", every evidence identifier kept, and no
    cell a spreadsheet would take for a formula (_cell)."""
    return {key: _cell(value) for key, value in _csv_values(notice).items()}


def _csv_values(notice: dict[str, Any]) -> dict[str, Any]:
    return {
        "names": " | ".join(notice["names"]), "age": notice["age"] if notice["age"] is not None else "",
        "date_of_death": notice["date_of_death"] or "", "calendar": notice["calendar"] or "",
        "place": notice["place"] or "", "cause": notice["cause"] or "", "confidence": notice["confidence"],
        "language": notice["language"],
        "post_ids": " | ".join(f"{p['platform']}:{p['post_id']}" for p in notice["posts"]),
        "post_urls": " | ".join(p["url"] for p in notice["posts"]),
        "image_sha256": notice["image_sha256"], "image_record_id": notice["image_record_id"],
        "ocr_record_id": notice["ocr_record_id"], "read_at": notice["read_at"],
    }


def notices_of_post(catalog: Catalog, url: str) -> list[dict[str, Any]]:
    """The notices read in a post's images (its post page shows them)."""
    shas = catalog.post_image_shas([url]).get(url) or []
    return list_notices(catalog, shas=shas) if shas else []


__all__ = ["CSV_COLUMNS", "NoticeFilter", "csv_row", "list_notices", "notices_of_post"]
