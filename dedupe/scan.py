"""Cluster a folder of images and videos on its own, without an archive (`tawthiq dedupe scan`).

Files are taken in sorted path order and matched one by one against those before them, the way
captures are: each joins its best match's cluster or starts one. A file that is neither an image
nor a video, or cannot be decoded, is reported with the reason; none is skipped in silence.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tawthiq.dedupe.images import DEFAULT_MAX_PIXELS, ImageRejected, reduce
from tawthiq.dedupe.matcher import Item, Matcher
from tawthiq.dedupe.signature import Analysed, analyse_image
from tawthiq.dedupe.video import VideoRejected, VideoSignature, video_signature

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ts", ".3gp", ".mpg", ".mpeg", ".flv", ".ogv"}


@dataclass
class ScanResult:
    clusters: list[list[str]] = field(default_factory=list)  # two or more files each
    errors: list[dict[str, str]] = field(default_factory=list)
    files: int = 0
    details: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> how it joined

    def as_dict(self) -> dict[str, Any]:
        return {"clusters": self.clusters, "errors": self.errors, "files": self.files}


def walk(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        else:
            yield path


def is_video(path: Path) -> bool:
    mime, _ = mimetypes.guess_type(path.name)
    return path.suffix.lower() in VIDEO_SUFFIXES or bool(mime and mime.startswith("video/"))


def analyse_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Analysed | VideoSignature:
    """Raises ImageRejected / VideoRejected / OSError with a reason."""
    if is_video(path):
        return video_signature(path, max_pixels=max_pixels)
    return analyse_image(path, max_pixels=max_pixels)


def scan(paths: Iterable[Path], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> ScanResult:
    result = ScanResult()
    files = sorted({p.resolve(): p for p in walk(paths)}.items())
    by_key: dict[str, str] = {}

    def pixels(item: Item) -> Any:
        try:
            return reduce(Path(by_key[item.key]), max_pixels=max_pixels).gray
        except (ImageRejected, OSError):
            return None

    matcher = Matcher(pixels)
    for resolved, shown in files:
        result.files += 1
        try:
            analysed = analyse_file(resolved, max_pixels)
        except (ImageRejected, VideoRejected) as exc:
            result.errors.append({"path": str(shown), "error": str(exc)})
            continue
        except OSError as exc:
            result.errors.append({"path": str(shown), "error": f"cannot read: {exc.strerror or exc}"})
            continue
        key = hashlib.sha256(str(resolved).encode()).hexdigest()
        by_key[key] = str(resolved)
        assigned = matcher.assign(key, analysed)
        result.details[str(shown)] = {**assigned.as_dict(), "cluster": by_key.get(assigned.cluster),
                                      "matched": by_key.get(assigned.matched or "")}
    shown_of = {str(r): str(s) for r, s in files}
    for members in matcher.clusters().values():
        if len(members) >= 2:
            result.clusters.append([shown_of[by_key[m.key]] for m in members])
    result.clusters.sort(key=lambda c: c[0])
    return result
