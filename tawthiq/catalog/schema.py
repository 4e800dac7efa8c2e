"""Catalog tables. Everything here can be rebuilt from the WARC files (see `rebuild`), except the
history of capture runs, which describes the process rather than the evidence.

Declared with SQLAlchemy so PostgreSQL can replace SQLite without rewriting queries.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Source(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[str] = mapped_column(String, unique=True)
    platform: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    url: Mapped[str] = mapped_column(String)
    collection: Mapped[str] = mapped_column(String)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Newest post of the last walk that reached the one before it: archived through here, no gaps.
    complete_through: Mapped[str | None] = mapped_column(String, nullable=True)
    # Where the last walk stopped at its page limit (`?before=`), to go on from there.
    resume_before: Mapped[str | None] = mapped_column(String, nullable=True)


class CaptureRun(Base):
    __tablename__ = "capture_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String)  # running, finished, failed, interrupted
    specs: Mapped[list] = mapped_column(JSON)
    collection: Mapped[str] = mapped_column(String)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str | None] = mapped_column(String, nullable=True)  # sources.yaml name
    kind: Mapped[str] = mapped_column(String, default="capture")  # capture | recheck


class WarcFile(Base):
    __tablename__ = "warc_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String, nullable=True)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sealed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("capture_runs.id"), nullable=True)
    recovered: Mapped[bool] = mapped_column(Boolean, default=False)
    # Which machine wrote it and where it lies there ("WORKER:/abs/path"); with several
    # workers the catalog is the one place that knows every file's location.
    location: Mapped[str | None] = mapped_column(Text, nullable=True)


class Record(Base):
    __tablename__ = "records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String, unique=True)
    rec_type: Mapped[str] = mapped_column(String)
    uri: Mapped[str] = mapped_column(Text)
    date: Mapped[str] = mapped_column(String)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mime: Mapped[str | None] = mapped_column(String, nullable=True)
    payload_digest: Mapped[str | None] = mapped_column(String, nullable=True)
    refers_to: Mapped[str | None] = mapped_column(String, nullable=True)
    concurrent_to: Mapped[str | None] = mapped_column(String, nullable=True)
    truncated: Mapped[str | None] = mapped_column(String, nullable=True)
    file: Mapped[str] = mapped_column(String)
    offset: Mapped[int] = mapped_column(BigInteger)
    length: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_records_uri", "uri"),
        Index("ix_records_digest", "payload_digest"),
        Index("ix_records_file_offset", "file", "offset"),
        Index("ix_records_refers_to", "refers_to"),
        Index("ix_records_concurrent_to", "concurrent_to"),
    )


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String)
    post_id: Mapped[str] = mapped_column(String)
    source: Mapped[str] = mapped_column(String)
    url: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String, nullable=True)
    published: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    text: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String, nullable=True)
    data: Mapped[dict] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String)
    first_captured: Mapped[str] = mapped_column(String)
    last_captured: Mapped[str] = mapped_column(String)
    captures: Mapped[int] = mapped_column(Integer, default=1)
    warc_file: Mapped[str | None] = mapped_column(String, nullable=True)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    warc_length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    metadata_record_id: Mapped[str] = mapped_column(String)
    # Whether the source's keyword filter keeps this post for search (the WARC keeps everything).
    indexed: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        UniqueConstraint("platform", "post_id", name="uq_posts_platform_post"),
        Index("ix_posts_source", "platform", "source"),
        Index("ix_posts_published", "published"),  # export --since/--until, date listings
    )


class PostCapture(Base):
    """Every time a post was seen; a changed text is visible as a new content hash."""

    __tablename__ = "post_captures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    captured: Mapped[str] = mapped_column(String)
    content_sha256: Mapped[str] = mapped_column(String)
    metadata_record_id: Mapped[str] = mapped_column(String, unique=True)
    warc_file: Mapped[str | None] = mapped_column(String, nullable=True)
    warc_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    warc_length: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    __table_args__ = (
        Index("ix_post_captures_post", "post"),  # a post's capture history
        Index("ix_post_captures_run", "run_id"),  # export --collection
    )


class Failure(Base):
    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String)
    at: Mapped[str] = mapped_column(String)
    metadata_record_id: Mapped[str | None] = mapped_column(String, unique=True, nullable=True)
    run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Media(Base):
    """A media file archived as a resource record (or a revisit of identical bytes)."""

    __tablename__ = "media"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(String, unique=True)
    sha256: Mapped[str] = mapped_column(String)
    size: Mapped[int] = mapped_column(BigInteger)
    mime: Mapped[str] = mapped_column(String)
    duration: Mapped[float | None] = mapped_column(nullable=True)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    codec: Mapped[str | None] = mapped_column(String, nullable=True)
    audio_codec: Mapped[str | None] = mapped_column(String, nullable=True)
    role: Mapped[str] = mapped_column(String)  # media, thumbnail, subtitle:LANG
    source_url: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    post_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    warc_file: Mapped[str] = mapped_column(String)
    warc_offset: Mapped[int] = mapped_column(BigInteger)
    warc_length: Mapped[int] = mapped_column(BigInteger)
    revisit_of: Mapped[str | None] = mapped_column(String, nullable=True)
    info_record_id: Mapped[str | None] = mapped_column(String, nullable=True)

    __table_args__ = (Index("ix_media_sha256", "sha256"), Index("ix_media_post", "post_url"))


class PostCheck(Base):
    """A later visit to an archived post: still online, changed, or gone (takedown tracking)."""

    __tablename__ = "post_checks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String)
    post_id: Mapped[str] = mapped_column(String)
    checked: Mapped[str] = mapped_column(String)
    state: Mapped[str] = mapped_column(String)  # online | changed | gone | error
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    check_url: Mapped[str] = mapped_column(Text)
    evidence_record_id: Mapped[str | None] = mapped_column(String, nullable=True)
    metadata_record_id: Mapped[str] = mapped_column(String, unique=True)

    __table_args__ = (Index("ix_post_checks_post", "platform", "post_id"),)


class NearDuplicate(Base):
    """A media file's perceptual signature and its near-duplicate cluster (issue 9), one row per
    distinct file (by sha256). Read from the `dedupe` part of the media's metadata record, so a
    catalog rebuilt from the WARC files has the same clusters."""

    __tablename__ = "near_duplicates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String, unique=True)
    kind: Mapped[str] = mapped_column(String)  # image | video
    cluster: Mapped[str] = mapped_column(String)  # sha256 of the cluster's first item
    matched: Mapped[str | None] = mapped_column(String, nullable=True)  # the item it was matched to
    method: Mapped[str | None] = mapped_column(String, nullable=True)  # hash | local | video
    distance: Mapped[int | None] = mapped_column(Integer, nullable=True)  # pHash bits to the first item
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    signature: Mapped[dict] = mapped_column(JSON)
    media_record_id: Mapped[str] = mapped_column(String)
    seen: Mapped[str] = mapped_column(String)
    warc_file: Mapped[str | None] = mapped_column(String, nullable=True)  # where its bytes lie
    warc_offset: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_near_duplicates_cluster", "cluster"),)


class NearDuplicateVersion(Base):
    """A clustering of the stored signatures (`tawthiq dedupe recluster`): proposed with its
    settings, accepted (copied into near_duplicates), or superseded by a later accepted one."""

    __tablename__ = "near_duplicate_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[str] = mapped_column(String)
    settings: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String)  # proposed | accepted | superseded
    items: Mapped[int] = mapped_column(Integer)
    clusters: Mapped[int] = mapped_column(Integer)


class NearDuplicateClustering(Base):
    """One item's cluster in one clustering version."""

    __tablename__ = "near_duplicate_clusterings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String)
    cluster: Mapped[str] = mapped_column(String)
    matched: Mapped[str | None] = mapped_column(String, nullable=True)
    method: Mapped[str | None] = mapped_column(String, nullable=True)
    distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detail: Mapped[dict | None] = mapped_column(JSON, nullable=True)

    __table_args__ = (UniqueConstraint("version", "sha256", name="uq_near_duplicate_clusterings_version_sha256"),)


class ImageText(Base):
    """The text OCR read in an image (issue 16), one row per "ocr" metadata record: a file OCRed
    again with a newer engine (`tawthiq ocr --redo`) has several rows, and the newest (by record
    date) is the one search uses. Read from the record, so a rebuilt catalog has the same rows."""

    __tablename__ = "image_texts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String)  # of the image file
    image_record_id: Mapped[str] = mapped_column(String)  # the image's response/resource record
    metadata_record_id: Mapped[str] = mapped_column(String, unique=True)  # the "ocr" record
    at: Mapped[str] = mapped_column(String)  # its WARC-Date
    status: Mapped[str] = mapped_column(String)  # text | no_text | gated | failed
    text: Mapped[str] = mapped_column(Text)
    engine: Mapped[dict] = mapped_column(JSON)  # name, version, pipeline, traineddata
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (Index("ix_image_texts_sha256", "sha256"),)


class NoticeRow(Base):
    """A death notice read from an image's text (issue 16), one row per "ocr" record whose text
    reads as a notice (a video's record: one per frame that does) (tawthiq.index.notices): derived from that record, so `reindex` fills the
    same rows. Its posts are found through `media` (every post that archived these bytes), and
    a file read again (`tawthiq ocr --redo`) has a row per reading, the newest standing."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String)  # of the image file
    image_record_id: Mapped[str] = mapped_column(String)
    ocr_record_id: Mapped[str] = mapped_column(String)  # the "ocr" metadata record
    frame: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # a video's frame (index), else 0
    at: Mapped[str] = mapped_column(String)  # that record's WARC-Date
    names: Mapped[list] = mapped_column(JSON)  # the names as read
    name: Mapped[str] = mapped_column(Text)  # the names joined by " | " (for listing)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    date_of_death: Mapped[str | None] = mapped_column(String, nullable=True)  # yyyy-mm-dd in its calendar
    date_calendar: Mapped[str | None] = mapped_column(String, nullable=True)  # gregorian | hijri
    place: Mapped[str | None] = mapped_column(Text, nullable=True)
    cause: Mapped[str | None] = mapped_column(Text, nullable=True)
    language: Mapped[str] = mapped_column(String)
    confidence: Mapped[float] = mapped_column(Float)  # the weakest name's
    fields: Mapped[dict] = mapped_column(JSON)  # every field: value, confidence, words with boxes
    extractor: Mapped[str] = mapped_column(String)

    __table_args__ = (Index("ix_notices_sha256", "sha256"),
                      UniqueConstraint("ocr_record_id", "frame", name="uq_notices_ocr_record_frame"))


class TextDuplicate(Base):
    """A post's text signature decision (issue 16), one row per post: its text's hash and its text
    cluster, read from the `text_dedupe` part of the post's metadata record (the newest capture
    of the post stands), so a catalog rebuilt from the WARC files has the same clusters. The words
    themselves are not stored twice: the matcher re-reads them from `posts.text`."""

    __tablename__ = "text_duplicates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String)
    post_id: Mapped[str] = mapped_column(String)
    url: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String)  # SHA-256 of the normalised words
    words: Mapped[int] = mapped_column(Integer)
    cluster: Mapped[str] = mapped_column(String)  # hash of the cluster's first post
    matched: Mapped[str | None] = mapped_column(String, nullable=True)  # "platform:post_id" it matched
    method: Mapped[str | None] = mapped_column(String, nullable=True)  # exact | near
    similarity: Mapped[float | None] = mapped_column(Float, nullable=True)
    version: Mapped[int] = mapped_column(Integer)
    metadata_record_id: Mapped[str] = mapped_column(String)
    seen: Mapped[str] = mapped_column(String)

    __table_args__ = (
        UniqueConstraint("platform", "post_id", name="uq_text_duplicates_post"),
        Index("ix_text_duplicates_cluster", "cluster"),
    )
