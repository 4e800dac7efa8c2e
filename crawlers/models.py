"""The one shape every platform's posts are parsed into.

Spiders yield `Post`; the archiving pipeline writes it into the WARC as a metadata record
(so the archive alone holds both the raw page and the structured post) and into the catalog.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MediaKind = Literal["photo", "video", "document", "audio", "image", "enclosure", "thumbnail"]


class WarcLocation(BaseModel):
    """Where the response that carried something sits in the archive."""

    file: str
    offset: int
    length: int
    record_id: str | None = None


class Media(BaseModel):
    kind: MediaKind
    url: str | None = None
    page_url: str | None = None  # where the platform shows it, when the file URL is not public
    mime: str | None = None
    title: str | None = None
    duration: str | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None


class LinkPreview(BaseModel):
    url: str
    site_name: str | None = None
    title: str | None = None
    description: str | None = None
    image_url: str | None = None


class Post(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str
    source: str
    post_id: str
    url: str
    title: str | None = None  # a web page's or article's title (also the first line of `text`)
    author: str | None = None
    author_signature: str | None = None
    published: datetime | None = None
    edited: bool = False
    text: str = ""
    html: str | None = None
    language: str | None = None
    views: str | None = None
    forwarded_from: str | None = None
    forwarded_from_url: str | None = None
    reply_to_url: str | None = None
    media: list[Media] = Field(default_factory=list)
    links: list[str] = Field(default_factory=list)
    link_preview: LinkPreview | None = None
    page_url: str | None = None
    warc: WarcLocation | None = None
    # Facts one platform has and the shared fields do not name (Mastodon's content warning and
    # sensitive flag, a poll, who boosted a post): kept in the post document, so the archive and the
    # catalog hold them and the web app can act on them (blur what the platform marked sensitive).
    extra: dict[str, Any] = Field(default_factory=dict)

    def archive_document(self) -> dict:
        return {"type": "post", "schema": 1, "post": self.model_dump(mode="json")}
