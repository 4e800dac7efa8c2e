"""OCR of video frames and page screenshots (issue 16): a video encoded in the test from two
rendered notices (PyAV, H.264) and a page screenshot (PNG, role "screenshot") go through the
capture's own listeners with a real catalog and real Tesseract; each yields one "ocr" document
referring to the media record, with the names it shows."""

from __future__ import annotations

import hashlib
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.ocr import corpus
from tawthiq.archivers.media import MediaContent
from tawthiq.archivers.writer import WrittenRecord
from tawthiq.catalog import Catalog
from tawthiq.catalog.store import RecordFacts
from tawthiq.dedupe.video import SceneFrames, video_signature
from tawthiq.listeners.near_duplicates import NearDuplicateSigning
from tawthiq.listeners.ocr import ImageOcr
from tawthiq.settings import load_settings

pytestmark = [
    pytest.mark.skipif(shutil.which("tesseract") is None, reason="Debian's tesseract-ocr is not installed"),
    pytest.mark.skipif(not corpus.has_shaping(), reason="Pillow without libraqm cannot draw Arabic"),
]

NAME_A = "سامر خليل العبدالله"
NAME_B = "هالة سليم النجار"


def _video(path: Path, seconds_each: float = 2.0, fps: int = 4) -> Path:
    """An MP4 showing notice A, then notice B (a cut), each `seconds_each` long."""
    import av

    cards = [corpus.render(corpus.Notice("a", NAME_A, 24, "بلدة المثال", "3/10/2026", "naskh", "plain")),
             corpus.render(corpus.Notice("b", NAME_B, 51, "قرية النموذج", "4/10/2026", "kufi", "header"))]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 800, 1000, "yuv420p"
        stream.time_base = Fraction(1, fps)
        n = 0
        for card in cards:
            for _ in range(int(seconds_each * fps)):
                frame = av.VideoFrame.from_ndarray(np.asarray(card), format="rgb24")
                frame.pts = n
                n += 1
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


class Written:
    """The "ocr" documents the listener hands to the archive (here kept in a list)."""

    def __init__(self) -> None:
        self.documents: list[tuple[str, dict[str, Any], str]] = []

    def __call__(self, url: str, document: dict[str, Any], image: str) -> WrittenRecord:
        self.documents.append((url, document, image))
        return None  # type: ignore[return-value]  # the listener does not use it


def _listeners(data_dir: Path, *, dedupe: bool) -> tuple[Catalog, list[Any], Written]:
    settings = load_settings(home=data_dir, dedupe=dedupe, ocr=True, ocr_mode="inline")
    settings.warcs_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(settings.catalog_url)
    written = Written()
    listeners: list[Any] = [NearDuplicateSigning(settings, catalog)] if dedupe else []
    listeners.append(ImageOcr(settings, catalog, written))
    return catalog, listeners, written


def _archive(listeners: list[Any], path: Path, mime: str, role: str) -> MediaContent:
    data = path.read_bytes()
    content = MediaContent(path, hashlib.sha256(data).hexdigest(), mime, ("none.warc.gz", 0))
    document = {"type": "media", "role": role, "source_url": f"http://127.0.0.1:9/{path.name}",
                "post_url": "http://127.0.0.1:9/post/1", "record_id": f"<urn:uuid:{path.stem}>"}
    for listener in listeners:
        listener.media_document(document, content)
    listeners[-1].finish()
    return content


def test_video_frames_at_scene_changes_are_read_from_the_signature_decode(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4")
    catalog, listeners, written = _listeners(tmp_path / "data", dedupe=True)
    try:
        content = _archive(listeners, video, "video/mp4", "media")
    finally:
        catalog.close()
    # signing kept the two distinct frames (one per notice), not the eight samples
    assert isinstance(content.scenes, SceneFrames)
    assert [t for t, _ in content.scenes.frames] == [0.0, 2.0]
    ((url, doc, image),) = written.documents
    assert image == "<urn:uuid:clip>" == doc["image_record_id"] and url.endswith("clip.mp4")
    assert doc["status"] == "text" and doc["mime"] == "video/mp4"
    assert [f["time"] for f in doc["frames"]] == [0.0, 2.0]
    assert NAME_A in doc["frames"][0]["text"] and NAME_B in doc["frames"][1]["text"]
    assert NAME_A in doc["text"] and NAME_B in doc["text"]  # what search indexes with the post
    times = {w["time"] for w in doc["words"]}
    assert times == {0.0, 2.0} and all(len(w["box"]) == 4 for w in doc["words"])
    # The catalog reads each frame's notice apart: two people, each with their own age and place,
    # each word from the frame it shows in (the joined text read as one image mixed them).
    notices = _catalog_notices(tmp_path / "data", doc)
    assert [(r.frame, r.fields["time"]) for r in notices] == [(0, 0.0), (1, 2.0)]
    assert [r.name for r in notices] == [NAME_A, NAME_B]
    assert notices[1].age == 51 and notices[0].age != 51  # (Tesseract reads A's ٢٤ as ٢٢ in this clip)
    assert "المثال" in notices[0].place and "النموذج" in notices[1].place
    for row in notices:
        used = [w for f in row.fields.values() if isinstance(f, dict) for w in f.get("words") or []]
        used += [w for n in row.fields["names"] for w in n.get("words") or []]
        assert used and {w["time"] for w in used} == {row.fields["time"]}


def _catalog_notices(data_dir: Path, doc: dict[str, Any]) -> list[Any]:
    """The notice rows a catalog derives from the "ocr" record `doc` (as a capture or reindex would)."""
    settings = load_settings(home=data_dir)
    catalog = Catalog(settings.catalog_url)
    try:
        facts = RecordFacts("x.warc.gz", 0, 1, "metadata", "<urn:uuid:ocr-clip>", "http://127.0.0.1:9/clip.mp4",
                            "2026-10-05T00:00:00Z", None, "application/json", None, doc["image_record_id"],
                            None, "ocr", {**doc, "sha256": doc["sha256"]})
        with catalog.engine.begin() as conn:
            catalog.apply(conn, [facts], run_id=None)
        return [row for row, _ in catalog.notices()]
    finally:
        catalog.close()


def test_a_video_not_signed_at_capture_is_decoded_by_ocr_itself(tmp_path: Path) -> None:
    video = _video(tmp_path / "clip.mp4", seconds_each=1.0)
    catalog, listeners, written = _listeners(tmp_path / "data", dedupe=False)
    try:
        content = _archive(listeners, video, "video/mp4", "media")
    finally:
        catalog.close()
    assert content.scenes is None
    ((_, doc, _),) = written.documents
    assert [f["time"] for f in doc["frames"]] == [0.0, 1.0] and NAME_B in doc["text"]


def test_a_file_gone_from_the_fetchers_work_folder_is_read_from_its_warc_record(tmp_path: Path) -> None:
    """yt-dlp's work folder is cleaned right after its files are stored, while the OCR workers may
    not have read them yet: the bytes are then read back from the WARC record, not recorded failed."""
    from tawthiq.archivers.revisits import DigestIndex
    from tawthiq.archivers.media import store_file
    from tawthiq.archivers.writer import WarcWriter

    catalog, listeners, written = _listeners(tmp_path / "data", dedupe=False)
    work = tmp_path / "ytdlp-work"
    work.mkdir()
    thumb = work / "thumb.png"
    thumb.write_bytes(corpus.image(corpus.Notice("a", NAME_A, 24, "بلدة المثال", "3/10/2026", "naskh", "plain")))
    writer = WarcWriter(listeners[-1].settings.warcs_dir)
    try:
        stored = store_file(writer, DigestIndex(), thumb, "http://127.0.0.1:9/thumb.png")
        writer.flush()
        shutil.rmtree(work)  # the fetcher's cleanup, before the worker reads the file
        content = MediaContent(thumb, stored.facts.sha256, stored.facts.mime,
                               (stored.record.filename, stored.record.offset))
        document = {"type": "media", "role": "thumbnail", "source_url": "http://127.0.0.1:9/thumb.png",
                    "post_url": "http://127.0.0.1:9/post/1", "record_id": stored.record.pending.record_id}
        listeners[-1].media_document(document, content)
        listeners[-1].finish()
    finally:
        writer.close()
        catalog.close()
    ((_, doc, _),) = written.documents
    assert doc["status"] == "text" and NAME_A in doc["text"], doc.get("error")


def test_a_file_that_is_not_a_video_is_a_recorded_failure(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    catalog, listeners, written = _listeners(tmp_path / "data", dedupe=False)
    try:
        _archive(listeners, bad, "video/mp4", "media")
    finally:
        catalog.close()
    ((_, doc, _),) = written.documents
    assert doc["status"] == "failed" and "not a readable video" in doc["error"]


def test_a_page_screenshot_is_read(tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    notice = corpus.Notice("a", NAME_A, 24, "بلدة المثال", "3/10/2026", "naskh", "plain")
    shot.write_bytes(corpus.image(notice, "screenshot"))
    catalog, listeners, written = _listeners(tmp_path / "data", dedupe=True)
    try:
        _archive(listeners, shot, "image/png", "screenshot")
    finally:
        catalog.close()
    ((_, doc, image),) = written.documents
    assert image == "<urn:uuid:shot>" and doc["status"] == "text"
    assert NAME_A in doc["text"] + "\n" + doc["extra_text"]
    assert doc["crop"] is not None  # the notice was cut out of the app's frame before reading

    # The page's overlay places each word on the screenshot's own pixels, inside the notice's corners.
    from tawthiq.ocr_overlay import overlay_of

    overlay = overlay_of(doc)
    assert overlay is not None and [overlay["width"], overlay["height"]] == doc["size"]
    xs, ys = [c[0] for c in doc["crop"]], [c[1] for c in doc["crop"]]
    assert any(w["text"] == "سامر" for w in overlay["words"])
    for w in overlay["words"]:
        assert min(xs) - 2 <= w["x"] and w["x"] + w["w"] <= max(xs) + 2
        assert min(ys) - 2 <= w["y"] and w["y"] + w["h"] <= max(ys) + 2


def test_scene_frames_are_bounded(tmp_path: Path) -> None:
    from tawthiq.dedupe import video as v

    clip = _video(tmp_path / "clip.mp4", seconds_each=1.0, fps=2)
    scenes = SceneFrames([])
    signature = video_signature(clip, scenes=scenes)
    assert len(signature.frames) >= len(scenes.frames) == 2 <= v.MAX_SCENES
    assert all(pixels.shape == (1000, 800, 3) for _, pixels in scenes.frames)


def test_the_name_line_is_the_largest_type_line_of_a_notice() -> None:
    import cv2

    from tawthiq.index.ocr.lines import largest_line
    from tawthiq.index.ocr.tesseract import run

    notice = corpus.Notice("a", NAME_A, 24, "بلدة المثال", "3/10/2026", "kacst", "plain")
    gray = cv2.cvtColor(np.asarray(corpus.render(notice)), cv2.COLOR_RGB2GRAY)
    box = largest_line(gray)
    assert box is not None
    x, y, w, h = box
    ok, png = cv2.imencode(".png", gray[y:y + h, x:x + w])
    read = " ".join(word.text for word in run(bytes(png), lang="ara", psm=7, timeout=20))
    assert all(part in read for part in NAME_A.split()[:2]), read  # the line holds the name
