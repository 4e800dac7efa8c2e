"""The catalog: what is archived where, queried without opening WARC files.

Records, posts and failures enter through one path, `apply`, fed either live (the archiver's
listener interface) or from WARC files being re-read (`rebuild_file`), so a rebuilt catalog
is the same as the live one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, delete, event, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from tawthiq.archivers.exchange import DigestHit
from tawthiq.archivers.reader import IndexedRecord, iter_records
from tawthiq.archivers.writer import SealedFile, WrittenRecord
from tawthiq.catalog import migrate
from tawthiq.catalog import schema as t
from tawthiq.index.notices import extract_notices

log = logging.getLogger("tawthiq.catalog")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class RecordFacts:
    """A record as the catalog sees it, whether just written or read back from a file."""

    filename: str
    offset: int
    length: int
    rec_type: str
    record_id: str
    uri: str
    date: str
    status: int | None
    mime: str | None
    payload_digest: str | None
    refers_to: str | None
    truncated: str | None
    kind: str | None
    document: dict[str, Any] | None
    concurrent_to: str | None = None

    @classmethod
    def from_written(cls, w: WrittenRecord) -> "RecordFacts":
        """The facts of a record just written, taken from what the file says wherever a rebuild
        would read them (its WARC headers, its JSON body), so that the live catalog and one
        rebuilt by `reindex` agree in every column. (Taking `WARC-Refers-To` from the builder's
        side facts left it empty for every metadata record, and exports of a live catalog then
        missed the media, dedupe and recheck records that point at a post's page.)"""
        p = w.pending
        headers = getattr(p.record, "rec_headers", None)

        def header(name: str, fallback: str | None) -> str | None:
            return (headers.get_header(name) if headers is not None else None) or fallback

        document = p.info.get("document")
        if document is not None:
            document = _as_stored(document)
        return cls(
            w.filename, w.offset, w.length, p.rec_type, p.record_id, p.uri, p.date, p.status, p.mime,
            p.payload_digest, header("WARC-Refers-To", p.info.get("refers_to")),
            header("WARC-Truncated", p.info.get("truncated")),
            header("WARC-Tawthiq-Kind", p.info.get("kind")), document,
            header("WARC-Concurrent-To", p.info.get("concurrent_to")),
        )

    @classmethod
    def from_indexed(cls, r: IndexedRecord) -> "RecordFacts":
        return cls(
            r.filename, r.offset, r.length, r.rec_type, r.record_id, r.uri, r.date, r.status, r.mime,
            r.payload_digest, r.refers_to, r.truncated, r.kind, r.document, r.concurrent_to,
        )


def _as_stored(document: dict[str, Any]) -> dict[str, Any]:
    """A metadata document as a reader of the WARC file gets it back: serialised the way
    archivers.records.metadata writes the record body (sorted keys, str() for what JSON lacks)
    and parsed again, so key order and value types match a rebuilt catalog's."""
    return json.loads(json.dumps(document, ensure_ascii=False, sort_keys=True, default=str))


def insert_for(engine: Engine) -> Any:
    """The dialect's INSERT with ON CONFLICT (the same API on SQLite and PostgreSQL)."""
    return pg_insert if engine.dialect.name == "postgresql" else sqlite_insert


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def content_hash(post: dict[str, Any]) -> str:
    """Hash of what a post says (not where or when it was captured), to notice edits."""
    keep = {k: post.get(k) for k in ("text", "author", "media", "link_preview", "forwarded_from", "edited")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Catalog:
    FLUSH_EVERY = 500

    def __init__(self, url: str, *, worker: str | None = None) -> None:
        self.worker = worker or socket.gethostname()
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        migrate.upgrade(self.engine)
        self.insert = insert_for(self.engine)
        self._buffer: list[RecordFacts] = []
        self._reader: Any = None
        self.run_id: int | None = None

    # -- archiver listener interface -------------------------------------------------------
    def records_written(self, written: list[WrittenRecord]) -> None:
        self._buffer.extend(RecordFacts.from_written(w) for w in written)
        if len(self._buffer) >= self.FLUSH_EVERY:
            self.flush()

    def file_opened(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(self.insert(t.WarcFile).values(
                name=name, created=utcnow(), sealed=False, run_id=self.run_id,
            ).on_conflict_do_nothing())

    def file_sealed(self, sealed: SealedFile, *, recovered: bool = False) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(self.insert(t.WarcFile).values(
                name=sealed.name, created=utcnow(), sealed=False, run_id=self.run_id,
            ).on_conflict_do_nothing())
            conn.execute(update(t.WarcFile).where(t.WarcFile.name == sealed.name).values(
                size=sealed.size, sha256=sealed.sha256, sealed=True, sealed_at=utcnow(), recovered=recovered,
                location=f"{self.worker}:{Path(sealed.path).resolve()}",
            ))

    def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        with self.engine.begin() as conn:
            self.apply(conn, batch, run_id=self.run_id)

    # -- one path for live and rebuilt facts ----------------------------------------------
    def apply(self, conn: Any, facts: Iterable[RecordFacts], *, run_id: int | None) -> None:
        rows = []
        documents = []
        for f in facts:
            rows.append(dict(
                record_id=f.record_id, rec_type=f.rec_type, uri=f.uri, date=f.date, status=f.status,
                mime=f.mime, payload_digest=f.payload_digest, refers_to=f.refers_to,
                truncated=f.truncated, file=f.filename, offset=f.offset, length=f.length, run_id=run_id,
                concurrent_to=f.concurrent_to,
            ))
            if f.rec_type == "metadata" and f.document is not None:
                documents.append(f)
        if rows:
            conn.execute(self.insert(t.Record).on_conflict_do_nothing(index_elements=["record_id"]), rows)
        for f in documents:
            kind = f.document.get("type") if f.document else None
            if kind == "post":
                self._apply_post(conn, f, run_id)
            elif kind == "failure":
                self._apply_failure(conn, f, run_id)
            elif kind == "media":
                self._apply_media(conn, f)
            elif kind == "check":
                self._apply_check(conn, f)
            elif kind == "ocr":
                self._apply_ocr(conn, f)
            elif kind == "clustering":
                self._apply_clustering(conn, f)

    def _apply_post(self, conn: Any, f: RecordFacts, run_id: int | None) -> None:
        post = f.document["post"]  # type: ignore[index]
        indexed = bool((f.document.get("filter") or {}).get("indexed", True))  # type: ignore[union-attr]
        warc = post.get("warc") or {}
        digest = content_hash(post)
        captured = f.date
        inserted = conn.execute(self.insert(t.Post).values(
            platform=post["platform"], post_id=post["post_id"], source=post["source"], url=post["url"],
            author=post.get("author"), published=_parse_dt(post.get("published")), text=post.get("text") or "",
            language=post.get("language"), data=post, content_sha256=digest, first_captured=captured,
            last_captured=captured, captures=0, warc_file=warc.get("file"), warc_offset=warc.get("offset"),
            warc_length=warc.get("length"), metadata_record_id=f.record_id, indexed=indexed,
        ).on_conflict_do_nothing(index_elements=["platform", "post_id"]))
        # one read for the row's key and capture dates (not three)
        pk, first, newest = conn.execute(select(t.Post.id, t.Post.first_captured, t.Post.last_captured).where(
            t.Post.platform == post["platform"], t.Post.post_id == post["post_id"])).one()
        added = conn.execute(self.insert(t.PostCapture).values(
            post=pk, captured=captured, content_sha256=digest, metadata_record_id=f.record_id,
            warc_file=warc.get("file"), warc_offset=warc.get("offset"), warc_length=warc.get("length"),
            run_id=run_id,
        ).on_conflict_do_nothing(index_elements=["metadata_record_id"]))
        if added.rowcount:
            values: dict[str, Any] = {"captures": t.Post.captures + 1}
            # a row inserted just now already holds this capture's values: only its count changes
            if captured >= newest and not inserted.rowcount:
                values.update(
                    url=post["url"], author=post.get("author"), text=post.get("text") or "",
                    language=post.get("language"), data=post, content_sha256=digest, last_captured=captured,
                    warc_file=warc.get("file"), warc_offset=warc.get("offset"),
                    warc_length=warc.get("length"), metadata_record_id=f.record_id,
                    published=_parse_dt(post.get("published")), indexed=indexed,
                )
            if captured < first:
                values["first_captured"] = captured
            conn.execute(update(t.Post).where(t.Post.id == pk).values(**values))
        self._apply_text_dedupe(conn, f, post)

    def _apply_text_dedupe(self, conn: Any, f: RecordFacts, post: dict[str, Any]) -> None:
        """A post's text cluster (issue 16); the newest capture of a post stands, as for the post."""
        near = (f.document or {}).get("text_dedupe") or {}
        if not near.get("hash") or not near.get("cluster"):
            return
        values = dict(
            platform=post["platform"], post_id=post["post_id"], url=post.get("url") or "", hash=near["hash"],
            words=int(near.get("words") or 0), cluster=near["cluster"], matched=near.get("matched"),
            method=near.get("method"), similarity=near.get("similarity"), version=int(near.get("version") or 0),
            metadata_record_id=f.record_id, seen=f.date,
        )
        stmt = self.insert(t.TextDuplicate).values(**values)
        keep = {k: v for k, v in values.items() if k not in ("platform", "post_id")}
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["platform", "post_id"], set_=keep, where=t.TextDuplicate.seen <= f.date))

    def _apply_check(self, conn: Any, f: RecordFacts) -> None:
        doc = f.document or {}
        conn.execute(self.insert(t.PostCheck).values(
            platform=doc["platform"], post_id=doc["post_id"], checked=f.date, state=doc["state"],
            http_status=doc.get("http_status"), detail=doc.get("detail"), check_url=doc.get("check_url", f.uri),
            evidence_record_id=doc.get("evidence_record_id"), metadata_record_id=f.record_id,
        ).on_conflict_do_nothing(index_elements=["metadata_record_id"]))

    def _apply_media(self, conn: Any, f: RecordFacts) -> None:
        doc = f.document or {}
        facts = doc.get("facts") or {}
        where = doc.get("warc") or {}
        conn.execute(self.insert(t.Media).values(
            record_id=doc["record_id"], sha256=facts.get("sha256", ""), size=facts.get("size", 0),
            mime=facts.get("mime", ""), duration=facts.get("duration"), width=facts.get("width"),
            height=facts.get("height"), codec=facts.get("codec"), audio_codec=facts.get("audio_codec"),
            role=doc.get("role", "media"), source_url=doc.get("source_url", ""), page_url=doc.get("page_url"),
            post_url=doc.get("post_url"), warc_file=where.get("file", ""), warc_offset=where.get("offset", 0),
            warc_length=where.get("length", 0), revisit_of=doc.get("revisit_of"),
            info_record_id=doc.get("info_record_id"),
        ).on_conflict_do_nothing(index_elements=["record_id"]))
        near = doc.get("dedupe") or {}
        if near.get("signature") and facts.get("sha256"):
            # the first assignment of a file stands (the same bytes seen again keep their cluster);
            # a row claimed at capture time (claim_near_duplicate) takes its record's date, so a live
            # catalog and a rebuilt one agree
            stmt = self.insert(t.NearDuplicate).values(
                sha256=facts["sha256"], kind=near["signature"].get("kind", "image"), cluster=near["cluster"],
                matched=near.get("matched"), method=near.get("method"), distance=near.get("distance"),
                detail=near.get("detail"), signature=near["signature"], media_record_id=doc["record_id"], seen=f.date,
                warc_file=where.get("file"), warc_offset=where.get("offset"),
            )
            conn.execute(stmt.on_conflict_do_update(
                index_elements=["sha256"], set_={"seen": stmt.excluded.seen},
                where=t.NearDuplicate.media_record_id == stmt.excluded.media_record_id))

    def _apply_clustering(self, conn: Any, f: RecordFacts) -> None:
        """An accepted reclustering (`tawthiq dedupe recluster --accept`): the items whose cluster
        it changed, written over near_duplicates in this one transaction (so a catalog is never
        half-accepted), and the version marked accepted, the one before superseded. Live and
        rebuilt catalogs take the same path, so `reindex` keeps the accepted clustering."""
        doc = f.document or {}
        version = int(doc.get("version") or 0)
        nd = t.NearDuplicate.__table__
        changes = [{"b_sha": sha, "b_cluster": a["cluster"], "b_matched": a.get("matched"),
                    "b_method": a.get("method"), "b_distance": a.get("distance"), "b_detail": a.get("detail")}
                   for sha, a in (doc.get("changes") or {}).items()]
        if changes:
            conn.execute(nd.update().where(nd.c.sha256 == bindparam("b_sha")).values(
                cluster=bindparam("b_cluster"), matched=bindparam("b_matched"), method=bindparam("b_method"),
                distance=bindparam("b_distance"), detail=bindparam("b_detail")), changes)
        v = t.NearDuplicateVersion
        conn.execute(update(v).where(v.state == "accepted", v.version != version).values(state="superseded"))
        stmt = self.insert(v).values(version=version, created=doc.get("created") or f.date,
                                     settings=doc.get("settings") or {}, state="accepted",
                                     items=int(doc.get("items") or 0), clusters=int(doc.get("clusters") or 0))
        conn.execute(stmt.on_conflict_do_update(index_elements=["version"], set_={"state": "accepted"}))

    def _apply_ocr(self, conn: Any, f: RecordFacts) -> None:
        doc = f.document or {}
        if not doc.get("sha256"):
            return
        conn.execute(self.insert(t.ImageText).values(
            sha256=doc["sha256"], image_record_id=doc.get("image_record_id") or f.refers_to or "",
            metadata_record_id=f.record_id, at=f.date, status=doc.get("status", "failed"),
            text="\n".join(t for t in (doc.get("text") or "", doc.get("extra_text") or "") if t), engine=doc.get("engine") or {}, error=doc.get("error"),
        ).on_conflict_do_nothing(index_elements=["metadata_record_id"]))
        self._apply_notice(conn, f, doc)

    def _apply_notice(self, conn: Any, f: RecordFacts, doc: dict[str, Any]) -> None:
        """The death notices the OCR text states, if it reads as one (issue 16): an image's, or
        each video frame's apart (a row per frame that shows a notice, its time in `fields`).
        Derived from the record alone, so live and rebuilt catalogs agree. A fault of the reader
        is logged and the record's other facts stand (`reindex` derives the notices again)."""
        try:
            notices = extract_notices(doc)
        except Exception as exc:  # noqa: BLE001 - a reader bug must not lose the catalog's other rows
            log.warning("reading a notice from %s failed: %s: %s", f.record_id, type(exc).__name__, exc)
            return
        for frame, at, notice in notices:
            fields = notice.as_dict()
            if at is not None:
                fields["time"] = at  # the video frame the notice was read from (seconds)
            when = notice.date.value if notice.date else {}
            conn.execute(self.insert(t.NoticeRow).values(
                sha256=doc["sha256"], image_record_id=doc.get("image_record_id") or f.refers_to or "",
                ocr_record_id=f.record_id, frame=frame, at=f.date, names=[n.value for n in notice.names],
                name=" | ".join(n.value for n in notice.names), age=notice.age.value if notice.age else None,
                date_of_death=when.get("iso"), date_calendar=when.get("calendar"),
                place=notice.place.value if notice.place else None, cause=notice.cause.value if notice.cause else None,
                language=notice.language, confidence=round(notice.confidence, 3), fields=fields,
                extractor=fields["extractor"],
            ).on_conflict_do_nothing(index_elements=["ocr_record_id", "frame"]))

    def _apply_failure(self, conn: Any, f: RecordFacts, run_id: int | None) -> None:
        doc = f.document or {}
        conn.execute(self.insert(t.Failure).values(
            url=doc.get("url") or f.uri, error=doc.get("error", ""), kind=doc.get("kind", "fetch"),
            at=f.date, metadata_record_id=f.record_id, run_id=run_id,
        ).on_conflict_do_nothing(index_elements=["metadata_record_id"]))

    # -- rebuild from files ------------------------------------------------------------------
    def rebuild_file(self, path: Path, *, sealed: SealedFile | None = None, recovered: bool = False) -> int:
        """Index one WARC file into the catalog (idempotent); returns records seen."""
        count = 0
        batch: list[RecordFacts] = []
        with self.engine.begin() as conn:
            for rec in iter_records(path):
                batch.append(RecordFacts.from_indexed(rec))
                count += 1
                if len(batch) >= self.FLUSH_EVERY:
                    self.apply(conn, batch, run_id=None)
                    batch = []
            self.apply(conn, batch, run_id=None)
        if sealed is not None:
            self.file_sealed(sealed, recovered=recovered)
        return count

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, specs: list[str], collection: str, *, source: str | None = None,
                  kind: str = "capture") -> int:
        with self.engine.begin() as conn:
            result = conn.execute(insert(t.CaptureRun).values(
                started=utcnow(), status="running", specs=specs, collection=collection,
                pid=os.getpid(), counts={}, errors=0, source=source, kind=kind,
            ))
            self.run_id = int(result.inserted_primary_key[0])
        return self.run_id

    def note_sources(self, targets: list[tuple[str, str, str, str]], collection: str, run_id: int) -> None:
        """Remember what was captured: (spec, platform, name, url) per target, with its last run."""
        with self.engine.begin() as conn:
            for spec, platform, name, url in targets:
                conn.execute(self.insert(t.Source).values(
                    spec=spec, platform=platform, name=name, url=url, collection=collection,
                    created=utcnow(), last_run_id=run_id,
                ).on_conflict_do_update(index_elements=["spec"], set_={"last_run_id": run_id}))

    def finish_run(self, run_id: int, status: str, counts: dict[str, Any], errors: int,
                   message: str | None = None) -> None:
        self.flush()
        with self.engine.begin() as conn:
            conn.execute(update(t.CaptureRun).where(t.CaptureRun.id == run_id).values(
                finished=utcnow(), status=status, counts=counts, errors=errors, message=message,
            ))

    def mark_interrupted_runs(self) -> int:
        """Runs left 'running' by a process that no longer exists are marked interrupted."""
        n = 0
        with self.engine.begin() as conn:
            for run_id, pid in conn.execute(
                select(t.CaptureRun.id, t.CaptureRun.pid).where(t.CaptureRun.status == "running")
            ).all():
                if pid and _pid_alive(pid) and pid != os.getpid():
                    continue
                conn.execute(update(t.CaptureRun).where(t.CaptureRun.id == run_id).values(
                    status="interrupted", finished=utcnow(),
                    message="the capture process ended without finishing; its files were recovered",
                ))
                n += 1
        return n

    # -- queries -------------------------------------------------------------------------------
    _DIGEST_QUERY = (
        select(t.Record.record_id, t.Record.uri, t.Record.date)
        .where(t.Record.payload_digest == bindparam("digest"), t.Record.rec_type.in_(["response", "resource"]),
               t.Record.truncated.is_(None))
        .order_by(t.Record.id).limit(1)
    )

    def find_digest(self, payload_digest: str) -> DigestHit | None:
        """Called for every response archived, so it is kept cheap: on SQLite one long-lived
        autocommit DB-API connection (a SQLAlchemy execute costs more than the lookup itself)."""
        if self.engine.dialect.name != "sqlite":
            with self.engine.connect() as conn:
                row = conn.execute(self._DIGEST_QUERY, {"digest": payload_digest}).first()
        else:
            if self._reader is None:
                self._reader = sqlite3.connect(self.engine.url.database, isolation_level=None,
                                               check_same_thread=False)
                self._reader.execute("PRAGMA busy_timeout=30000")
            row = self._reader.execute(
                "SELECT record_id, uri, date FROM records WHERE payload_digest = ? AND rec_type IN ('response', 'resource') "
                "AND truncated IS NULL ORDER BY id LIMIT 1", (payload_digest,)).fetchone()
        return DigestHit(row[0], row[1], row[2]) if row else None

    def watermark(self, spec: str) -> tuple[str | None, str | None]:
        """(complete through, resume before) for a source spec."""
        with self.engine.connect() as conn:
            row = conn.execute(select(t.Source.complete_through, t.Source.resume_before)
                               .where(t.Source.spec == spec)).first()
        return (row[0], row[1]) if row else (None, None)

    def set_watermark(self, spec: str, post_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.Source).where(t.Source.spec == spec).values(
                complete_through=post_id, resume_before=None))

    def set_resume(self, spec: str, before: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(t.Source).where(t.Source.spec == spec).values(resume_before=before))

    def known_post_ids(self, platform: str, source: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(t.Post.post_id).where(
                t.Post.platform == platform, func.lower(t.Post.source) == source.lower())).scalars())

    def has_source(self, source: str) -> bool:
        """Did any post come from this source (a channel: `notices_chan`, or `telegram:notices_chan`),
        letters' case aside? A filter naming none is a typo to report, not an empty answer."""
        platform, _, name = source.rpartition(":")
        query = select(t.Post.id).where(func.lower(t.Post.source) == name.lower())
        if platform:
            query = query.where(t.Post.platform == platform)
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def posts_of(self, platform: str, source: str) -> list[t.Post]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.Post).where(
                t.Post.platform == platform, func.lower(t.Post.source) == source.lower())
                .order_by(t.Post.id)).all())

    def runs(self, limit: int = 50) -> list[t.CaptureRun]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.CaptureRun).order_by(t.CaptureRun.id.desc()).limit(limit)).all())

    def takedowns(self) -> list[dict[str, Any]]:
        """Posts whose latest check found them gone, with when they were last seen online."""
        out = []
        with self.engine.connect() as conn:
            checks = conn.execute(select(t.PostCheck).order_by(t.PostCheck.checked)).all()
            latest: dict[tuple[str, str], Any] = {}
            last_online: dict[tuple[str, str], str] = {}
            first_gone: dict[tuple[str, str], str] = {}
            for c in checks:
                key = (c.platform, c.post_id)
                latest[key] = c
                if c.state in ("online", "changed"):
                    last_online[key] = c.checked
                    first_gone.pop(key, None)
                elif c.state == "gone":
                    first_gone.setdefault(key, c.checked)
            for key, check in latest.items():
                if check.state != "gone":
                    continue
                post = conn.execute(select(t.Post).where(t.Post.platform == key[0], t.Post.post_id == key[1])).first()
                if post is None:
                    continue
                seen = max(filter(None, [last_online.get(key), post.last_captured]))
                out.append({
                    "platform": key[0], "post_id": key[1], "url": post.url, "text": post.text,
                    "last_seen": seen, "gone_since": first_gone.get(key, check.checked),
                    "detail": check.detail, "http_status": check.http_status,
                    "warc_file": post.warc_file, "warc_offset": post.warc_offset,
                    "metadata_record_id": post.metadata_record_id,
                })
        return out

    def count_searchable_posts(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.Post).where(t.Post.indexed)).scalar_one())

    def failures(self, limit: int = 200) -> list[t.Failure]:
        """What could not be captured, newest first (each is also a metadata record in the archive)."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.Failure).order_by(t.Failure.id.desc()).limit(limit)).all())

    # -- near-duplicates (issue 9) --------------------------------------------------------------
    def near_duplicates(self, after: int = 0, limit: int | None = None, conn: Any = None) -> list[t.NearDuplicate]:
        """Signatures and clusters in the order they were assigned (rows after id `after`)."""
        query = select(t.NearDuplicate).where(t.NearDuplicate.id > after).order_by(t.NearDuplicate.id)
        if limit is not None:
            query = query.limit(limit)
        if conn is not None:
            return list(conn.execute(query).all())
        with self.engine.connect() as own:
            return list(own.execute(query).all())

    @contextmanager
    def near_duplicate_lock(self) -> Iterator[Any]:
        """One cluster assignment at a time across every process sharing this catalog: a
        transaction holding PostgreSQL's advisory lock (SQLite: the database's write lock, taken
        by a write at once). Inside it a worker sees every assignment committed before, so two
        copies of one picture signed at the same moment cannot both start a cluster."""
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727375)")
            else:
                conn.execute(delete(t.NearDuplicate).where(t.NearDuplicate.id < 0))  # takes the write lock
            yield conn

    def claim_near_duplicate(self, conn: Any, *, sha256: str, near: dict[str, Any], media_record_id: str,
                             seen: str, warc: tuple[str, int] | None) -> None:
        """A new item's assignment, written at once (inside near_duplicate_lock) so that other
        workers match against it before its metadata record reaches the catalog."""
        conn.execute(self.insert(t.NearDuplicate).values(
            sha256=sha256, kind=near["signature"].get("kind", "image"), cluster=near["cluster"],
            matched=near.get("matched"), method=near.get("method"), distance=near.get("distance"),
            detail=_as_stored(near.get("detail") or {}) if near.get("detail") is not None else None,
            signature=_as_stored(near["signature"]), media_record_id=media_record_id, seen=seen,
            warc_file=warc[0] if warc else None, warc_offset=warc[1] if warc else None,
        ).on_conflict_do_nothing(index_elements=["sha256"]))

    def near_duplicate_in(self, conn: Any, sha256: str) -> t.NearDuplicate | None:
        return conn.execute(select(t.NearDuplicate).where(t.NearDuplicate.sha256 == sha256)).first()

    def near_duplicate_max_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(t.NearDuplicate.id))).scalar() or 0)

    def near_duplicate_by_id(self, row: int) -> t.NearDuplicate | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.NearDuplicate).where(t.NearDuplicate.id == row)).first()

    def near_duplicate(self, sha256: str) -> t.NearDuplicate | None:
        with self.engine.connect() as conn:
            return conn.execute(select(t.NearDuplicate).where(t.NearDuplicate.sha256 == sha256)).first()

    # -- reclustering (issue 18) ------------------------------------------------------------
    def clustering_versions(self) -> list[t.NearDuplicateVersion]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.NearDuplicateVersion).order_by(t.NearDuplicateVersion.version)).all())

    def clustering(self, version: int) -> list[t.NearDuplicateClustering]:
        """One version's assignments, item by item (sha256 order)."""
        c = t.NearDuplicateClustering
        with self.engine.connect() as conn:
            return list(conn.execute(select(c).where(c.version == version).order_by(c.sha256)).all())

    def save_clustering(self, *, settings: dict[str, Any], assignments: list[dict[str, Any]],
                        baseline: list[dict[str, Any]] | None, state: str = "proposed") -> int:
        """A new clustering version with all its rows, in one transaction (an interrupted
        recluster leaves nothing). `baseline`: the capture-time clustering, saved first as
        version 1 (accepted) when no version exists yet, so it can be gone back to."""
        now = datetime.now(timezone.utc).isoformat()
        v, c = t.NearDuplicateVersion, t.NearDuplicateClustering
        with self.engine.begin() as conn:
            if self.engine.dialect.name != "postgresql":
                conn.execute(delete(v).where(v.version < 0))  # SQLite: take the write lock now
            else:
                conn.exec_driver_sql("LOCK TABLE near_duplicate_versions IN EXCLUSIVE MODE")
            number = int(conn.execute(select(func.max(v.version))).scalar() or 0)
            todo = ([(baseline, {"source": "capture"}, "accepted")] if baseline is not None and number == 0 else []) \
                + [(assignments, settings, state)]
            for rows, how, what in todo:
                number += 1
                conn.execute(insert(v).values(version=number, created=now, settings=how, state=what, items=len(rows),
                                              clusters=len({r["cluster"] for r in rows})))
                for a in range(0, len(rows), 2000):
                    conn.execute(insert(c), [{"version": number, **r} for r in rows[a:a + 2000]])
        return number

    def media_copy(self, sha256: str) -> t.Media | None:
        """Where the bytes of a media file lie (its first stored record, not a revisit)."""
        with self.engine.connect() as conn:
            return conn.execute(select(t.Media).where(t.Media.sha256 == sha256, t.Media.revisit_of.is_(None))
                                .order_by(t.Media.id).limit(1)).first()

    def media_by_prefix(self, prefix: str, limit: int = 2) -> list[Any]:
        """Stored media files (not revisits) whose sha256 starts with `prefix`; at most `limit`,
        so a caller can tell one match from several."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.Media).where(t.Media.sha256.like(prefix.lower() + "%"),
                                                           t.Media.revisit_of.is_(None)).limit(limit)).all())

    def clusters(self, min_size: int = 2) -> list[dict[str, Any]]:
        """Near-duplicate clusters with at least `min_size` distinct files, largest first; each
        member with the posts that carried it (who posted it, when). Three queries, whatever the
        number of clusters."""
        nd = t.NearDuplicate
        with self.engine.connect() as conn:
            sizes = conn.execute(select(nd.cluster, func.count().label("n")).group_by(nd.cluster)
                                 .having(func.count() >= min_size)
                                 .order_by(func.count().desc(), nd.cluster)).all()
            big = select(nd.cluster).group_by(nd.cluster).having(func.count() >= min_size)
            rows = conn.execute(select(nd).where(nd.cluster.in_(big)).order_by(nd.id)).all()
            carried = conn.execute(
                select(t.Media.sha256, t.Post.platform, t.Post.post_id, t.Post.source, t.Post.author,
                       t.Post.published, t.Post.url)
                .join(t.Media, t.Media.post_url == t.Post.url)
                .where(t.Media.sha256.in_(select(nd.sha256).where(nd.cluster.in_(big))))
                .distinct().order_by(t.Media.sha256, t.Post.platform, t.Post.post_id)).all()
        posts: dict[str, list[dict[str, Any]]] = {}
        for p in carried:
            posts.setdefault(p.sha256, []).append({
                "id": f"{p.platform}:{p.post_id}", "source": p.source, "author": p.author,
                "published": p.published.isoformat() if p.published else None, "url": p.url})
        members: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            members.setdefault(row.cluster, []).append({
                "sha256": row.sha256, "kind": row.kind, "method": row.method, "distance": row.distance,
                "matched": row.matched, "seen": row.seen, "posts": posts.get(row.sha256, [])})
        return [{"cluster": cluster, "size": n, "members": members.get(cluster, [])} for cluster, n in sizes]

    # -- text near-duplicates (issue 16) --------------------------------------------------------
    def text_duplicates(self, after: int = 0) -> list[Any]:
        """(id, platform, post_id, hash, cluster, matched, method, similarity, text) of each post
        with a text signature, in the order they were first assigned (rows after id `after`); the
        text is the post's newest, which the signature was made from."""
        td = t.TextDuplicate
        with self.engine.connect() as conn:
            return list(conn.execute(
                select(td.id, td.platform, td.post_id, td.hash, td.cluster, td.matched, td.method,
                       td.similarity, t.Post.text)
                .join(t.Post, (t.Post.platform == td.platform) & (t.Post.post_id == td.post_id))
                .where(td.id > after).order_by(td.id)).all())

    def text_clusters(self, min_size: int = 2) -> list[dict[str, Any]]:
        """Text clusters with at least `min_size` posts, largest first, each post with how it matched."""
        td = t.TextDuplicate
        with self.engine.connect() as conn:
            big = select(td.cluster).group_by(td.cluster).having(func.count() >= min_size)
            rows = conn.execute(
                select(td.cluster, td.platform, td.post_id, td.url, td.method, td.similarity, td.matched,
                       td.seen, t.Post.source, t.Post.author, t.Post.published)
                .join(t.Post, (t.Post.platform == td.platform) & (t.Post.post_id == td.post_id))
                .where(td.cluster.in_(big)).order_by(td.id)).all()
        members: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            members.setdefault(r.cluster, []).append({
                "id": f"{r.platform}:{r.post_id}", "url": r.url, "source": r.source, "author": r.author,
                "published": r.published.isoformat() if r.published else None, "method": r.method,
                "similarity": r.similarity, "matched": r.matched, "seen": r.seen})
        found = [{"cluster": c, "size": len(m), "members": m} for c, m in members.items()]
        return sorted(found, key=lambda c: (-c["size"], c["cluster"]))

    def _media_rows_of_posts(self, query: Any, urls: list[str] | None) -> list[Any]:
        """`query` over media rows, for every post (`urls` None) or for these posts' URLs, asked
        500 at a time (SQLite's limit on bound parameters)."""
        with self.engine.connect() as conn:
            if urls is None:
                return list(conn.execute(query).all())
            rows: list[Any] = []
            for i in range(0, len(urls), 500):
                rows += conn.execute(query.where(t.Media.post_url.in_(urls[i:i + 500]))).all()
            return rows

    def post_clusters(self, urls: list[str] | None = None) -> dict[str, str]:
        """post URL -> cluster of the first media file archived for it (for the search index)."""
        query = (select(t.Media.post_url, t.NearDuplicate.cluster)
                 .join(t.NearDuplicate, t.NearDuplicate.sha256 == t.Media.sha256)
                 .where(t.Media.post_url.is_not(None)).order_by(t.Media.id))
        out: dict[str, str] = {}
        rows = self._media_rows_of_posts(query, urls)
        for url, cluster in rows:
            out.setdefault(url, cluster)
        return out

    # -- text in images (issue 16) ----------------------------------------------------------------
    def image_texts(self, shas: Iterable[str]) -> dict[str, t.ImageText]:
        """sha256 -> the newest OCR result of that file (a later `tawthiq ocr --redo` wins), except
        that a reading which failed (a time limit on a loaded machine, a crash) does not hide the
        text read before it: it stands only where no reading succeeded."""
        wanted = list(dict.fromkeys(shas))
        out: dict[str, t.ImageText] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), 500):
                rows = conn.execute(select(t.ImageText).where(t.ImageText.sha256.in_(wanted[i:i + 500]))
                                    .order_by(t.ImageText.at, t.ImageText.id)).all()
                for row in rows:
                    earlier = out.get(row.sha256)
                    if earlier is None or row.status != "failed" or earlier.status == "failed":
                        out[row.sha256] = row
        return out

    def post_image_shas(self, urls: list[str] | None = None) -> dict[str, list[str]]:
        """post URL -> sha256 of its images and videos (whose frames OCR reads), in the order they
        were archived (revisits included)."""
        query = (select(t.Media.post_url, t.Media.sha256).where(t.Media.post_url.is_not(None),
                                                               or_(t.Media.mime.like("image/%"),
                                                                   t.Media.mime.like("video/%")))
                 .order_by(t.Media.id))
        rows = self._media_rows_of_posts(query, urls)
        out: dict[str, list[str]] = {}
        for url, sha in rows:
            if sha and sha not in out.setdefault(url, []):
                out[url].append(sha)
        return out

    def notices(self, shas: Iterable[str] | None = None) -> list[tuple[Any, list[Any]]]:
        """Every death notice read from an archived image (issue 16), or those of the image files
        `shas`, oldest reading first, each with the posts that archived its bytes (an exact
        duplicate shares its notice). Of a file read several times (`tawthiq ocr --redo`) only
        its newest reading stands, as in search, but a reading that failed (Tesseract's time limit
        on a loaded machine, a crash) is no reading: it does not hide the notice read before."""
        with self.engine.connect() as conn:
            query = select(t.NoticeRow).order_by(t.NoticeRow.at, t.NoticeRow.id)
            if shas is not None:
                query = query.where(t.NoticeRow.sha256.in_(list(dict.fromkeys(shas))[:1000]))
            rows = conn.execute(query).all()
            shas = list(dict.fromkeys(r.sha256 for r in rows))
            newest: dict[str, str] = {}
            posts_of: dict[str, list[Any]] = {}
            for i in range(0, len(shas), 500):
                part = shas[i:i + 500]
                for text in conn.execute(select(t.ImageText.sha256, t.ImageText.metadata_record_id)
                                         .where(t.ImageText.sha256.in_(part), t.ImageText.status != "failed")
                                         .order_by(t.ImageText.at, t.ImageText.id)).all():
                    newest[text.sha256] = text.metadata_record_id
                found = conn.execute(
                    select(t.Media.sha256.label("image_sha256"), t.Post.id, t.Post.platform, t.Post.post_id,
                           t.Post.source, t.Post.url, t.Post.published, t.Post.first_captured)
                    .join(t.Post, t.Post.url == t.Media.post_url)
                    .where(t.Media.sha256.in_(part)).order_by(t.Post.published, t.Post.id)).all()
                for post in found:
                    listed = posts_of.setdefault(post.image_sha256, [])
                    if all(p.id != post.id for p in listed):
                        listed.append(post)
        return [(r, posts_of.get(r.sha256, [])) for r in rows if newest.get(r.sha256, r.ocr_record_id) == r.ocr_record_id]

    def archived_images(self) -> list[t.Media]:
        """Every stored image or video file once (its first record, not revisits), oldest first:
        what `tawthiq ocr` reads (a video by its scene frames)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.Media).where(or_(t.Media.mime.like("image/%"), t.Media.mime.like("video/%")),
                                                      t.Media.revisit_of.is_(None))
                                .order_by(t.Media.id)).all()
        seen: set[str] = set()
        return [r for r in rows if r.sha256 and not (r.sha256 in seen or seen.add(r.sha256))]

    def rebuild_files(self, paths: Iterable[Path]) -> int:
        """Rebuild the catalog from sealed WARC files (`tawthiq reindex`): each file's records
        and its size and SHA-256 as read now; returns the records seen."""
        from tawthiq.archivers.digests import file_sha256

        total = 0
        for path in paths:
            sealed = SealedFile(path.name, path, path.stat().st_size, file_sha256(str(path)))
            total += self.rebuild_file(path, sealed=sealed)
        return total

    def sealed_digests(self) -> dict[str, str | None]:
        """file name -> SHA-256 recorded when each sealed WARC file was closed."""
        return {row.name: row.sha256 for row in self.warc_files() if row.sealed}

    def warc_files(self) -> list[t.WarcFile]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(t.WarcFile).order_by(t.WarcFile.name)).all())

    def forget_file(self, name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(t.WarcFile).where(t.WarcFile.name == name))

    def close(self) -> None:
        self.flush()
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        self.engine.dispose()


def _parse_dt(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
