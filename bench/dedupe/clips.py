"""Video clips made with PyAV from real photographs, and the edits reposters make to videos:
re-encoding at a lower quality and size, cutting a clip out, stamping a channel's name on it,
letterboxing. Shared by tests and bench/dedupe."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

from PIL import Image, ImageDraw, ImageFont, ImageOps


def _encode(frames: Iterator[Image.Image], size: tuple[int, int], fps: int, crf: int = 23) -> bytes:
    import av

    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf)})
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for img in frames:
            frame = av.VideoFrame.from_image(img.convert("RGB").resize(size))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def scene_frames(photo: Image.Image, seconds: float, fps: int, size: tuple[int, int], seed: int) -> Iterator[Image.Image]:
    """A slow drift and zoom across one photograph (a phone filming a still scene): about a
    tenth of the frame per second."""
    photo = ImageOps.fit(photo.convert("RGB"), (size[0] * 2, size[1] * 2))
    n = int(seconds * fps)
    for i in range(n):
        t = i / max(1, n - 1) * seconds / 4
        zoom = 0.8 - 0.1 * t if seed % 2 else 0.7 + 0.1 * t
        w, h = int(photo.width * zoom), int(photo.height * zoom)
        x = int((photo.width - w) * (0.2 + 0.6 * t if seed % 3 else 0.8 - 0.6 * t))
        y = int((photo.height - h) * 0.5)
        yield photo.crop((x, y, x + w, y + h)).resize(size)


def make_clip(photos: list[Image.Image], *, seconds_each: float = 2.0, fps: int = 12,
              size: tuple[int, int] = (320, 240)) -> bytes:
    def frames() -> Iterator[Image.Image]:
        for k, p in enumerate(photos):
            yield from scene_frames(p, seconds_each, fps, size, k)
    return _encode(frames(), size, fps)


def decoded(data: bytes) -> tuple[list[Image.Image], int]:
    import av

    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        fps = int(round(float(stream.average_rate or 12)))
        return [f.to_image() for f in container.decode(stream)], fps


def transcode(data: bytes, *, size: tuple[int, int] | None = None, crf: int = 23, start: float = 0.0,
              end: float | None = None, edit: Callable[[Image.Image], Image.Image] | None = None,
              fps: int | None = None) -> bytes:
    frames, src_fps = decoded(data)
    fps = fps or src_fps
    first = int(start * src_fps)
    last = int(end * src_fps) if end is not None else len(frames)
    picked = frames[first:last]
    if fps != src_fps:
        picked = [picked[int(i * src_fps / fps)] for i in range(int(len(picked) * fps / src_fps))]
    size = size or picked[0].size
    return _encode((edit(f) if edit else f for f in picked), size, fps, crf)


def watermark(img: Image.Image) -> Image.Image:
    out = img.convert("RGBA")
    layer = Image.new("RGBA", out.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.text((10, out.height - 34), "@example_channel", font=ImageFont.load_default(size=22), fill=(255, 255, 255, 170))
    draw.rectangle((out.width - 40, 8, out.width - 8, 40), fill=(220, 30, 30, 200))
    return Image.alpha_composite(out, layer).convert("RGB")


def letterbox(img: Image.Image) -> Image.Image:
    w, h = img.size
    canvas = Image.new("RGB", (w, h), (0, 0, 0))
    inner = img.resize((w, int(h * 0.72)))
    canvas.paste(inner, (0, (h - inner.height) // 2))
    return canvas
