"""A short synthetic MP4 (H.264) made with PyAV, so demo and test videos are real files."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def mp4(seed: int = 1, seconds: float = 1.0, size: tuple[int, int] = (160, 120), fps: int = 12) -> bytes | None:
    """None when PyAV is not installed (the demo then shows the video as Telegram does for
    files it will not preview: a thumbnail and a link, no <video src>)."""
    try:
        import av
    except ImportError:
        return None
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            img = Image.new("RGB", size, ((seed * 40 + i * 9) % 255, 60, 90))
            ImageDraw.Draw(img).rectangle([(i * 7) % size[0], 0, size[0], size[1] // 2], fill=(30, 180, 120))
            for packet in stream.encode(av.VideoFrame.from_image(img)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
