"""Synthetic photos for the demo and tests: real JPEG/PNG files, drawn, never real people."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def photo(seed: str, size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    """A deterministic picture (sky, ground, a few buildings) for a seed string."""
    rng = random.Random(seed)
    width, height = size
    img = Image.new("RGB", size, (rng.randint(120, 200), rng.randint(150, 210), rng.randint(190, 240)))
    draw = ImageDraw.Draw(img)
    horizon = int(height * rng.uniform(0.55, 0.75))
    draw.rectangle([0, horizon, width, height], fill=(rng.randint(90, 140), rng.randint(80, 120), 60))
    x = 0
    while x < width:
        w = rng.randint(20, 60)
        h = rng.randint(30, horizon - 10)
        shade = rng.randint(90, 200)
        draw.rectangle([x, horizon - h, x + w, horizon], fill=(shade, shade - 10, shade - 25))
        for wy in range(horizon - h + 6, horizon - 6, 12):
            for wx in range(x + 4, x + w - 6, 10):
                if rng.random() < 0.6:
                    draw.rectangle([wx, wy, wx + 4, wy + 5], fill=(40, 40, 50))
        x += w + rng.randint(2, 12)
    out = io.BytesIO()
    img.save(out, format=fmt, quality=85) if fmt == "JPEG" else img.save(out, format=fmt)
    return out.getvalue()


def repost(original: bytes, channel: str = "@namudhaj_news") -> bytes:
    """What a forwarding channel does to a photo: crops its edges, stamps its name on it and
    recompresses it harder (a near-duplicate, not the same bytes)."""
    img = Image.open(io.BytesIO(original)).convert("RGB")
    w, h = img.size
    img = img.crop((w // 25, h // 30, w - w // 40, h - h // 25))
    draw = ImageDraw.Draw(img)
    draw.text((8, img.height - 22), channel, fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=55)
    return out.getvalue()
