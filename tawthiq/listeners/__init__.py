"""The capture session's listeners: duties that follow from what a capture archives, each in a
module of its own, called by the session on its events instead of being done inline.

Two kinds of call, in the order a record's life has them:
  - document hooks, BEFORE a record is written, may add to the JSON document it will hold
    (`post_document`: the keyword filter's `filter`, text near-duplicate signing's `text_dedupe`;
    `media_document`: near-duplicate signing's `dedupe`), so what they decide is in the WARC file and a rebuilt catalog finds it there;
  - events, AFTER the bytes are written (`post_archived`, `media_archived`, `records_written`,
    `file_sealed`: the TSA time-stamp of a sealed file). OCR (`ImageOcr`) writes records of its
    own (kind "ocr", referring to the image), through the `write` it is given.
`session_listeners` wires them from the settings; a new duty is a new module and one line there.
"""

from __future__ import annotations

from tawthiq.catalog import Catalog
from tawthiq.listeners.base import Listener, Report
from tawthiq.listeners.keyword_filter import KeywordFilter
from tawthiq.listeners.near_duplicates import NearDuplicateSigning
from tawthiq.listeners.ocr import ImageOcr, WriteRecord, ocr_enabled
from tawthiq.listeners.text_duplicates import TextDuplicateSigning
from tawthiq.listeners.timestamps import TimeStamping
from tawthiq.settings import Settings

__all__ = ["ImageOcr", "KeywordFilter", "Listener", "NearDuplicateSigning", "Report", "TextDuplicateSigning", "TimeStamping",
           "session_listeners"]


def session_listeners(settings: Settings, catalog: Catalog, keywords: list[str], report: Report,
                      write: WriteRecord | None = None) -> list[Listener]:
    """The listeners a capture with these settings (and `--keyword`s) needs, in calling order.
    `write`: how a listener with records of its own (OCR) writes them."""
    listeners: list[Listener] = []
    if keywords:
        listeners.append(KeywordFilter(keywords))
    if settings.dedupe:
        listeners.append(NearDuplicateSigning(settings, catalog))
    if settings.text_dedupe:
        listeners.append(TextDuplicateSigning(settings, catalog))
    if write is not None and ocr_enabled(settings):
        listeners.append(ImageOcr(settings, catalog, write))
    if settings.tsa_url:
        listeners.append(TimeStamping(settings.tsa_url, report))
    return listeners
