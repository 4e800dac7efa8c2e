"""Video signatures: a pHash per sampled frame, and matching by frame voting.

Frames come from PyAV (its wheel bundles FFmpeg). A video up to ten minutes long is sampled every
half second: a clip cut out of it starts anywhere, and its samples must land near the source's.
Longer videos are sampled at their keyframes only (about 7x faster to decode; encoders put
keyframes on scene cuts, which a re-encode keeps), so an hour-long upload stays affordable.
Each frame is reduced, trimmed of letterbox bars, and hashed (dedupe.hashes), so a letterboxed
or watermarked re-post still meets its source.

Two videos match the way vPDQ does it: the share of one video's frames that have a partner
within the radius in the other. A clip cut from a longer video matches from its own side (all
its frames are in the long one) though the long one's share is small, so the larger share
decides (shared/notes/dedupe.md: a heavy re-encode, a 15 fps copy and a trimmed clip scored 1.00,
an unrelated clip 0).

While it decodes, the signature can keep the distinct frames (scene changes, SceneFrames) for
OCR of the text burnt into a video, so the video is decoded once for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tawthiq.errors import UserError
from tawthiq.dedupe import hashes, images

VERSION = 1
FRAME_RADIUS = 10
MIN_SHARE = 0.6
MAX_FRAMES = 600
SAMPLE_EVERY = 0.5  # seconds
DENSE_UP_TO = 600.0  # seconds of video sampled densely; longer ones at keyframes
FRAME_SIZE = 160
MAX_SCENES = 8  # distinct frames kept for OCR (issue 16): a bound on memory and OCR time
SCENE_BITS = FRAME_RADIUS  # a sampled frame this far (pHash bits) from the last kept one is a new scene
SCENE_DIFF = 12.0  # or this far in mean grey level on a 32x32 thumbnail (text changed on a still background)
SCENE_MAX_SIDE = 1600  # kept frames are shrunk to this longest side


@dataclass
class SceneFrames:
    """The distinct frames of a video, kept while its signature decodes it, so that OCR reads
    the text burnt into them without decoding the video a second time. `frames`: (seconds, RGB
    pixels), at most MAX_SCENES, each differing from the previous one kept."""

    frames: list[tuple[float, np.ndarray]]
    last_hash: int | None = None
    last_thumb: np.ndarray | None = None

    def offer(self, frame: Any, t: float, value: int) -> None:
        if len(self.frames) >= MAX_SCENES:
            return
        gray = frame.to_ndarray(format="gray")
        h, w = gray.shape
        thumb = gray[:: max(1, h // 32), :: max(1, w // 32)][:32, :32].astype(np.float32)
        if self.last_hash is not None and self.last_thumb is not None and thumb.shape == self.last_thumb.shape:
            bits = int(np.bitwise_count(np.uint64(value) ^ np.uint64(self.last_hash)))
            diff = float(np.abs(thumb - self.last_thumb).mean())
            if bits <= SCENE_BITS and diff < SCENE_DIFF:
                return
        self.last_hash, self.last_thumb = value, thumb
        scale = min(1.0, SCENE_MAX_SIDE / max(h, w))
        if scale < 1.0:
            frame = frame.reformat(width=int(w * scale) // 2 * 2, height=int(h * scale) // 2 * 2)
        self.frames.append((round(t, 3), frame.to_ndarray(format="rgb24")))


class VideoRejected(UserError, ValueError):
    """Not a video PyAV can decode, or over the limits; the message says which."""


@dataclass
class VideoSignature:
    frames: np.ndarray  # uint64 pHash per sampled frame
    times: np.ndarray  # float seconds
    duration: float | None
    width: int
    height: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "video", "version": VERSION, "size": [self.width, self.height], "duration": self.duration,
                "frames": [[round(float(t), 3), hashes.to_hex(int(h))] for t, h in zip(self.times, self.frames)]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "VideoSignature":
        if data.get("kind") != "video" or data.get("version") != VERSION:
            raise ValueError(f"not a video signature of version {VERSION}")
        times = np.array([f[0] for f in data["frames"]], dtype=np.float64)
        frames = np.array([int(f[1], 16) for f in data["frames"]], dtype=np.uint64)
        w, h = data["size"]
        return cls(frames, times, data.get("duration"), int(w), int(h))


def _frame_hash(frame: Any) -> int | None:
    """None for a flat frame (black, a fade): every flat frame hashes alike and would vote for
    every other video."""
    gray = frame.to_ndarray(format="gray")
    if float(gray[::4, ::4].std()) < 4.0:
        return None
    h, w = gray.shape
    step = max(1, min(h, w) // FRAME_SIZE)
    small = np.ascontiguousarray(gray[::step, ::step])
    left, top, right, bottom = images.trim_box(small)
    return int(hashes.hash_views(np.ascontiguousarray(small[top:bottom, left:right]))[hashes.WHOLE])


def video_signature(source: Path | bytes, *, max_pixels: int = images.DEFAULT_MAX_PIXELS,
                    scenes: SceneFrames | None = None) -> VideoSignature:
    """The video's signature; `scenes`, when given, also receives its distinct frames (for OCR)."""
    import io

    import av

    try:
        container = av.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else str(source))
    except (av.error.FFmpegError, OSError) as exc:  # type: ignore[attr-defined]
        raise VideoRejected(f"not a readable video ({exc.__class__.__name__}: {exc})") from None
    with container:
        if not container.streams.video:
            raise VideoRejected("the file has no video stream")
        stream = container.streams.video[0]
        w, h = stream.codec_context.width, stream.codec_context.height
        if w * h > max_pixels:
            raise VideoRejected(f"video frames are {w}x{h}, over the limit of {max_pixels:,} pixels")
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / 1_000_000 if container.duration else None)  # type: ignore[union-attr]
        stream.thread_type = "AUTO"
        if duration is not None and duration > DENSE_UP_TO:
            frames, times = _keyframes(container, stream, scenes)
        else:
            frames, times = _every(container, stream, SAMPLE_EVERY, scenes)
    if not frames:
        raise VideoRejected("no frame could be decoded")
    return VideoSignature(np.array(frames, np.uint64), np.array(times, np.float64), duration, w, h)


def _keyframes(container: Any, stream: Any, scenes: SceneFrames | None) -> tuple[list[int], list[float]]:
    stream.codec_context.skip_frame = "NONKEY"
    frames, times = [], []
    try:
        for frame in container.decode(stream):
            value = _frame_hash(frame)
            if value is not None:
                frames.append(value)
                times.append(float(frame.time or 0.0))
                if scenes is not None:
                    scenes.offer(frame, times[-1], value)
            if len(frames) >= MAX_FRAMES:
                break
    finally:
        stream.codec_context.skip_frame = "DEFAULT"
    return frames, times


def _every(container: Any, stream: Any, seconds: float,
           scenes: SceneFrames | None) -> tuple[list[int], list[float]]:
    frames, times = [], []
    next_at = 0.0
    for frame in container.decode(stream):
        t = float(frame.time or 0.0)
        if t + 1e-6 >= next_at:
            next_at = t + seconds
            value = _frame_hash(frame)
            if value is not None:
                frames.append(value)
                times.append(t)
                if scenes is not None:
                    scenes.offer(frame, t, value)
            if len(frames) >= MAX_FRAMES:
                break
    return frames, times


def scene_frames(source: Path | bytes, *, max_pixels: int = images.DEFAULT_MAX_PIXELS) -> SceneFrames:
    """The distinct frames of a video on their own (OCR of a video that was not signed at
    capture: near-duplicate signing off, `tawthiq ocr` over an older archive)."""
    scenes = SceneFrames([])
    video_signature(source, max_pixels=max_pixels, scenes=scenes)
    return scenes


@dataclass(frozen=True)
class VideoVerdict:
    matched: bool
    share_a: float  # of a's frames, the share with a partner in b
    share_b: float
    frames_a: int
    frames_b: int

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def compare(a: VideoSignature, b: VideoSignature, radius: int = FRAME_RADIUS) -> VideoVerdict:
    d = np.bitwise_count(a.frames[:, None] ^ b.frames[None, :])
    share_a = float((d.min(axis=1) <= radius).mean()) if len(a.frames) else 0.0
    share_b = float((d.min(axis=0) <= radius).mean()) if len(b.frames) else 0.0
    # one frame alike (a black opening frame, a channel's intro card) is not a match
    enough = min(len(a.frames), len(b.frames)) >= 2 or max(len(a.frames), len(b.frames)) == 1
    return VideoVerdict(enough and max(share_a, share_b) >= MIN_SHARE, share_a, share_b, len(a.frames), len(b.frames))
