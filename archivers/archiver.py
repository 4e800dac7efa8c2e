"""The archiving step: captured exchanges, posts and failures become WARC records.

Everything downstream (catalog, dedupe, index) learns about records through the listeners
called here, after the bytes are in the file. This is the single "archived" seam that a
scale-out worker can later move elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from tawthiq.archivers import records as rec
from tawthiq.archivers.exchange import DigestHit, Exchange, build_records
from tawthiq.archivers.httpblock import HTTPMessage
from tawthiq.archivers.revisits import DigestIndex
from tawthiq.archivers.writer import SealedFile, WarcWriter, WrittenRecord


class ArchiveListener(Protocol):
    def records_written(self, written: list[WrittenRecord]) -> None: ...

    def file_opened(self, name: str) -> None: ...

    def file_sealed(self, sealed: SealedFile) -> None: ...


@dataclass
class ArchivedExchange:
    request: WrittenRecord
    response: WrittenRecord
    message: HTTPMessage
    is_revisit: bool


class Archiver:
    def __init__(
        self,
        writer: WarcWriter,
        digests: DigestIndex | None = None,
        listeners: list[ArchiveListener] | None = None,
    ) -> None:
        self.writer = writer
        self.digests = digests if digests is not None else DigestIndex()
        self.listeners = list(listeners or [])
        writer.on_open = self._opened
        writer.on_seal = self._sealed
        writer.on_written = self._written  # every record, the files' warcinfo included

    def _opened(self, name: str) -> None:
        for listener in self.listeners:
            listener.file_opened(name)

    def _sealed(self, sealed: SealedFile) -> None:
        for listener in self.listeners:
            listener.file_sealed(sealed)

    def _written(self, written: list[WrittenRecord]) -> None:
        for listener in self.listeners:
            listener.records_written(written)

    def exchange(self, exchange: Exchange) -> ArchivedExchange:
        built = build_records(exchange, self.digests)
        # The response goes first so a reader meets the record the request points to.
        response, request, *_extra = self.writer.write([built.response, built.request, *built.extra])
        pending = built.response
        if not built.is_revisit and not pending.info.get("truncated") and pending.payload_digest:
            self.digests.add(pending.payload_digest, DigestHit(pending.record_id, pending.uri, pending.date))
        return ArchivedExchange(request, response, built.message, built.is_revisit)

    def metadata(self, uri: str, document: dict[str, Any], *, kind: str,
                 refers_to: str | None = None) -> WrittenRecord:
        """A JSON record about `uri` (a post, a media file's facts, a failure, a check).

        Its WARC-Target-URI is `urn:tawthiq:KIND:URI`, never URI itself: replay tools (pywb,
        ReplayWeb.page) index metadata records by target URI and served this JSON in place of the
        image or page it describes. The described URI stays in the document; Browsertrix names its
        page records `urn:pageinfo:URL` the same way.
        """
        target = uri if uri.startswith("urn:") else f"urn:tawthiq:{kind}:{uri}"
        (written,) = self.writer.write([rec.metadata(target, document, refers_to=refers_to, profile=kind)])
        return written

    def close(self) -> None:
        self.writer.close()
