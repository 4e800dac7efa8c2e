"""Death notices as records (issue 16): the fields a notice states, read from its OCR result.

extract.py turns one image's "ocr" record (lines of text, words with boxes) into at most one
notice (a video: one per frame, extract_notices): the name(s) of the dead, age, date of death, place and cause, each with a confidence and
the OCR words it came from. Nothing here merges notices: one image or video frame, one notice at most.
"""

from tawthiq.index.notices.extract import EXTRACTOR, Field, Notice, extract_notice, extract_notices, looks_like_notice

__all__ = ["EXTRACTOR", "Field", "Notice", "extract_notice", "extract_notices", "looks_like_notice"]
