"""Text in images (issue 16): Tesseract OCR of archived photos, tuned on Arabic death notices.

gate.py (is there text at all, cheaply), crop.py (the notice out of its frame), tesseract.py
(the engine, its version and models), normalize.py (bidi marks, Persian letters), engine.py (the
passes and the result a metadata record keeps). Search-side use of the text lives in
index.documents and index.query.
"""

from tawthiq.index.ocr.engine import OcrRejected, OcrSettings, TesseractError, engine_facts, ocr_image, ocr_pixels

__all__ = ["OcrRejected", "OcrSettings", "TesseractError", "engine_facts", "ocr_image", "ocr_pixels"]
