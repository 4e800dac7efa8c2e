"""What the index holds for one post, built from the post document that the archive keeps in
its metadata record, so the live index and one rebuilt from WARC files are the same.

Backends store these fields and return them with each hit; search results need nothing else
(text, where the capture sits in the archive), so a search never has to open the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from tawthiq.index.analysis import analyze

_HAS = {"photo": "image", "image": "image", "thumbnail": "image", "video": "video"}


@dataclass
class IndexDoc:
    id: str  # "platform:post_id": one document per post, the latest capture wins
    platform: str
    post_id: str
    source: str
    url: str
    author: str
    lang: str
    published: datetime  # the post's date, or its capture time when the platform gives none
    captured: str  # WARC-Date of the capture this document comes from
    text: str  # the original post text, shown and cut into snippets
    words: str  # analysed tokens, space-separated (index.analysis)
    terms: str
    has: list[str]
    cluster: str  # near-duplicate cluster key; each post is its own cluster until dedupe joins them
    warc: dict[str, Any] = field(default_factory=dict)  # file, offset, length of the captured page
    # Text OCR read in the post's images (issue 16): its own fields, analysed like `text`, so a
    # query can ask for it alone (in:image) and a hit can say its words came from an image.
    image_text: str = ""
    image_words: str = ""
    image_terms: str = ""

    @property
    def month(self) -> str:
        return f"{self.published.year:04d}-{self.published.month:02d}"

    @property
    def published_at(self) -> str:
        return self.published.isoformat().replace("+00:00", "Z")

    def stored(self) -> dict[str, Any]:
        """The fields every backend returns with a hit (JSON-ready)."""
        return {
            "id": self.id, "platform": self.platform, "post_id": self.post_id, "source": self.source,
            "url": self.url, "author": self.author, "lang": self.lang,
            "published_at": self.published_at, "captured_at": self.captured,
            "text": self.text, "cluster": self.cluster, "has": self.has, "warc": self.warc,
            "image_text": self.image_text,
        }


def doc_id(platform: str, post_id: str) -> str:
    return f"{platform}:{post_id}"


def _when(value: Any, fallback: str) -> datetime:
    for v in (value, fallback):
        if not v:
            continue
        try:
            d = datetime.fromisoformat(str(v).replace("Z", "+00:00"))
        except ValueError:
            continue
        return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)
    return datetime(1970, 1, 1, tzinfo=timezone.utc)


def searchable_text(post: dict[str, Any]) -> str:
    """Everything a researcher may search for: the text, its title, who posted or forwarded it, and the
    words of a link preview and of media titles (which platforms show beside the post)."""
    parts = [post.get("text") or "", post.get("author") or "", post.get("forwarded_from") or ""]
    title = post.get("title") or ""
    if title and title not in parts[0]:  # a web post's text starts with its title already
        parts.append(title)
    preview = post.get("link_preview") or {}
    parts += [preview.get("title") or "", preview.get("description") or ""]
    parts += [m.get("title") or "" for m in post.get("media") or []]
    return "\n".join(p for p in parts if p)


IMAGE_TEXT = "image_text"  # the `has` value of a post whose images have text


def doc_from_post(post: dict[str, Any], captured: str, *, cluster: str | None = None,
                  image_text: str = "") -> IndexDoc:
    words, terms = analyze(searchable_text(post))
    has = sorted({_HAS[m["kind"]] for m in post.get("media") or [] if m.get("kind") in _HAS})
    if post.get("media"):
        has.append("media")
    ident = doc_id(post["platform"], post["post_id"])
    doc = IndexDoc(
        id=ident, platform=post["platform"], post_id=post["post_id"], source=post.get("source") or "",
        url=post.get("url") or "", author=post.get("author") or "", lang=post.get("language") or "",
        published=_when(post.get("published"), captured), captured=captured, text=post.get("text") or "",
        words=" ".join(words), terms=" ".join(terms), has=has, cluster=cluster or ident, warc=dict(post.get("warc") or {}),
    )
    return with_image_text(doc, image_text) if image_text else doc


def with_image_text(doc: IndexDoc, image_text: str) -> IndexDoc:
    """The document with the text read in its post's images (replacing what it had)."""
    words, terms = analyze(image_text)
    has = [h for h in doc.has if h != IMAGE_TEXT] + ([IMAGE_TEXT] if words else [])
    return replace(doc, image_text=image_text, image_words=" ".join(words), image_terms=" ".join(terms), has=has)
