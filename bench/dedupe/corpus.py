"""Real photographs and the edits reposters make to them (shared by tests and bench/dedupe).

The originals are the photographs scikit-image ships in its wheel (public-domain or freely
licensed pictures: an astronaut, a cat, coffee, a rocket, the Hubble deep field ...), plus
non-overlapping crops of the larger ones, which must NOT cluster with each other. Bulletins are
synthetic death-bulletin look-alikes from one template (same frame, header and layout; a
different portrait and different invented names): they must not cluster either. No real person's
data is used; the names are invented.

Edits follow issue 9's list; each is a plain Pillow operation with a fixed random seed per image,
so a failure is reproducible.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "hubble_deep_field", "retina", "rocket", "moon",
          "coins", "immunohistochemistry", "grass", "gravel", "brick", "stereo_motorcycle", "cell", "clock")
# (photo, box as fractions): parts of one large photograph that share no pixels
PARTS = (("hubble_deep_field", (0.0, 0.0, 0.5, 0.5)), ("hubble_deep_field", (0.5, 0.5, 1.0, 1.0)),
         ("retina", (0.0, 0.0, 0.5, 0.5)), ("retina", (0.5, 0.5, 1.0, 1.0)))


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def originals() -> dict[str, Image.Image]:
    """Photographs by name (RGB), the parts of large ones included."""
    from skimage import data

    out: dict[str, Image.Image] = {}
    for name in PHOTOS:
        loader = getattr(data, name, None)
        if loader is None:
            continue
        arr = loader()
        if isinstance(arr, tuple):  # stereo_motorcycle: (left, right, disparity); the left view
            arr = arr[0]
        img = Image.fromarray(arr)
        if img.mode != "RGB":
            img = img.convert("RGB")
        out[name] = img
    for i, (name, (l, t, r, b)) in enumerate(PARTS):
        if name in out:
            img = out[name]
            w, h = img.size
            out[f"{name}-part{i}"] = img.crop((round(l * w), round(t * h), round(r * w), round(b * h)))
    # the whole of a photo whose parts are listed is dropped: a part IS a crop of it
    for name, _ in PARTS:
        out.pop(name, None)
    return out


def portrait(seed: int, size: tuple[int, int] = (404, 444)) -> Image.Image:
    """A synthetic portrait (no real person): a head and shoulders over a busy background of
    random shapes and lines, so that two bulletins differ in detail the way two photographs do."""
    rng = random.Random(seed)
    w, h = size

    def colour() -> tuple[int, int, int]:
        return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))

    img = Image.new("RGB", size, colour())
    draw = ImageDraw.Draw(img)
    for _ in range(60):
        x, y, r = rng.randint(-20, w), rng.randint(-20, h), rng.randint(6, 60)
        shape = rng.choice((draw.rectangle, draw.ellipse))
        shape((x, y, x + r, y + rng.randint(6, 60)), fill=colour())
    for _ in range(25):
        draw.line((rng.randint(0, w), rng.randint(0, h), rng.randint(0, w), rng.randint(0, h)), fill=colour(),
                  width=rng.randint(1, 5))
    cx = w // 2 + rng.randint(-40, 40)
    draw.ellipse((cx - 170, int(h * 0.62), cx + 170, h + 160), fill=colour())
    hw, hh = rng.randint(70, 100), rng.randint(95, 125)
    top = int(h * 0.18)
    draw.ellipse((cx - hw, top, cx + hw, top + 2 * hh), fill=colour())
    for dx in (-hw // 2, hw // 2):  # eyes
        draw.ellipse((cx + dx - 12, top + hh - 20, cx + dx + 12, top + hh - 4), fill=(20, 20, 20))
    draw.arc((cx - 40, top + hh + 10, cx + 40, top + hh + 60), 20, 160, fill=(90, 20, 20), width=5)
    return img


def bulletins(count: int = 8) -> dict[str, Image.Image]:
    """Death-bulletin look-alikes sharing one template: header, frame, layout; a different
    synthetic portrait and invented text."""
    out = {}
    for i in range(count):
        img = Image.new("RGB", (720, 900), (20, 20, 20))
        draw = ImageDraw.Draw(img)
        draw.rectangle((0, 0, 720, 110), fill=(120, 10, 10))
        draw.text((40, 30), "Documentation Centre  -  Martyrs' bulletin", font=_font(34), fill=(255, 255, 255))
        draw.rectangle((150, 150, 570, 610), outline=(200, 170, 60), width=8)
        img.paste(portrait(1000 + i), (158, 158))
        rng = random.Random(i)
        given = rng.choice(["Sami", "Nour", "Hadi", "Rima", "Karim", "Lina", "Omar", "Dana", "Tarek", "Maya"])
        family = rng.choice(["Haddad", "Khoury", "Nasser", "Saleh", "Mansour", "Aziz", "Farah", "Hamdan"])
        draw.text((60, 650), f"{given} {family}", font=_font(56), fill=(255, 255, 255))
        draw.text((60, 730), f"born 19{70 + i}  -  died 2016-12-{10 + i}", font=_font(34), fill=(220, 220, 220))
        draw.text((60, 800), f"Village of Example-{i}, district {rng.randint(1, 9)}", font=_font(30), fill=(200, 200, 200))
        out[f"bulletin{i}"] = img
    return out


# -- edits ------------------------------------------------------------------------------------

def _encode(img: Image.Image, fmt: str, **kw: object) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    buf.seek(0)
    return Image.open(buf).convert("RGB")


def jpeg25(img: Image.Image, rng: random.Random) -> Image.Image:
    return _encode(img, "JPEG", quality=25)


def webp(img: Image.Image, rng: random.Random) -> Image.Image:
    return _encode(img, "WEBP", quality=60)


def resize50(img: Image.Image, rng: random.Random) -> Image.Image:
    return img.resize((max(1, img.width // 2), max(1, img.height // 2)), Image.Resampling.BILINEAR)


def thumb320(img: Image.Image, rng: random.Random) -> Image.Image:
    out = img.copy()
    out.thumbnail((320, 320))
    return out


def grayscale(img: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.grayscale(img).convert("RGB")


def brightness(img: Image.Image, rng: random.Random) -> Image.Image:
    return ImageEnhance.Contrast(ImageEnhance.Brightness(img).enhance(1.25)).enhance(0.8)


def watermark(img: Image.Image, rng: random.Random) -> Image.Image:
    """A channel's name across the picture, half transparent, and its logo in a corner."""
    base = img.convert("RGBA")
    layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    size = max(12, base.width // 14)
    draw.text((base.width * 0.1, base.height * rng.uniform(0.4, 0.6)), "@example_channel_news",
              font=_font(size), fill=(255, 255, 255, 110))
    side = max(16, base.width // 8)
    draw.ellipse((base.width - side - 8, 8, base.width - 8, 8 + side), fill=(200, 30, 30, 200))
    return Image.alpha_composite(base, layer).convert("RGB")


def caption(img: Image.Image, rng: random.Random) -> Image.Image:
    """A caption band laid over the bottom of the picture."""
    out = img.copy()
    draw = ImageDraw.Draw(out)
    band = max(20, img.height // 8)
    draw.rectangle((0, img.height - band, img.width, img.height), fill=(0, 0, 0))
    draw.text((10, img.height - band + band // 5), "Breaking: shelling reported this morning",
              font=_font(max(10, band // 2)), fill=(255, 255, 0))
    return out


def _crop(img: Image.Image, rng: random.Random, share: float) -> Image.Image:
    """Remove `share` of the width and of the height, split at random between the sides."""
    w, h = img.size
    dw, dh = round(w * share), round(h * share)
    left, top = rng.randint(0, dw), rng.randint(0, dh)
    return img.crop((left, top, left + w - dw, top + h - dh))


def crop5(img: Image.Image, rng: random.Random) -> Image.Image:
    return _crop(img, rng, 0.05)


def crop10(img: Image.Image, rng: random.Random) -> Image.Image:
    return _crop(img, rng, 0.10)


def crop15(img: Image.Image, rng: random.Random) -> Image.Image:
    return _crop(img, rng, 0.15)


def crop25(img: Image.Image, rng: random.Random) -> Image.Image:
    return _crop(img, rng, 0.25)


def letterbox(img: Image.Image, rng: random.Random) -> Image.Image:
    """Padded into 16:9 (or 9:16 for a tall picture) with black bars."""
    w, h = img.size
    if w / h < 16 / 9:
        canvas = Image.new("RGB", (round(h * 16 / 9), h), (0, 0, 0))
    else:
        canvas = Image.new("RGB", (w, round(w * 9 / 16)), (0, 0, 0))
    canvas.paste(img, ((canvas.width - w) // 2, (canvas.height - h) // 2))
    return canvas


def screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """A phone screenshot of the post: the picture scaled into a 720x1280 screen with a status
    bar, the channel's header, text and buttons around it."""
    screen = Image.new("RGB", (720, 1280), (240, 240, 240))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 720, 48), fill=(30, 30, 30))
    draw.text((20, 10), "12:4%d  LTE  87%%" % rng.randint(0, 9), font=_font(24), fill=(255, 255, 255))
    draw.rectangle((0, 48, 720, 150), fill=(40, 90, 140))
    draw.text((110, 80), "Example News Channel", font=_font(32), fill=(255, 255, 255))
    draw.ellipse((20, 65, 90, 135), fill=(200, 200, 200))
    fit = img.copy()
    fit.thumbnail((680, 760))
    x, y = (720 - fit.width) // 2, 190
    screen.paste(fit, (x, y))
    draw.text((30, y + fit.height + 20), "Photos from today, please share widely", font=_font(28), fill=(20, 20, 20))
    draw.text((30, y + fit.height + 70), "👁 12.%dK   10:%02d" % (rng.randint(1, 9), rng.randint(0, 59)),
              font=_font(24), fill=(120, 120, 120))
    draw.rectangle((0, 1180, 720, 1280), fill=(255, 255, 255))
    draw.text((280, 1215), "SHARE", font=_font(30), fill=(40, 90, 140))
    return screen


def mirror(img: Image.Image, rng: random.Random) -> Image.Image:
    return ImageOps.mirror(img)


def _rotate(img: Image.Image, degrees: float) -> Image.Image:
    return img.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=(0, 0, 0))


def rotate3(img: Image.Image, rng: random.Random) -> Image.Image:
    return _rotate(img, rng.choice((-3, 3)))


def rotate10(img: Image.Image, rng: random.Random) -> Image.Image:
    return _rotate(img, rng.choice((-10, 10)))


def bars_above_below(img: Image.Image, rng: random.Random) -> Image.Image:
    """Caption bars added above and below the picture (a new, taller canvas)."""
    band = max(30, img.height // 6)
    canvas = Image.new("RGB", (img.width, img.height + 2 * band), (255, 255, 255))
    canvas.paste(img, (0, band))
    draw = ImageDraw.Draw(canvas)
    draw.text((10, band // 4), "URGENT - share before it is deleted", font=_font(max(10, band // 2)), fill=(200, 0, 0))
    draw.text((10, img.height + band + band // 4), "source: example channel", font=_font(max(10, band // 2)),
              fill=(0, 0, 0))
    return canvas


def collage_tile(img: Image.Image, rng: random.Random) -> Image.Image:
    """The picture as one tile of a 2x2 bulletin collage; the other tiles are name cards (so the
    collage's only picture is this one and the ground truth stays one-to-one)."""
    tile = 400
    canvas = Image.new("RGB", (2 * tile, 2 * tile), (255, 255, 255))
    spot = rng.randint(0, 3)
    for k in range(4):
        x, y = (k % 2) * tile, (k // 2) * tile
        if k == spot:
            canvas.paste(ImageOps.fit(img, (tile, tile)), (x, y))
            continue
        draw = ImageDraw.Draw(canvas)
        draw.rectangle((x, y, x + tile, y + tile), fill=(rng.randint(0, 80), 20, rng.randint(0, 80)))
        draw.text((x + 30, y + 150), f"Person {rng.randint(100, 999)}", font=_font(44), fill=(255, 255, 255))
        draw.text((x + 30, y + 220), f"2016-12-{rng.randint(10, 28)}", font=_font(32), fill=(230, 230, 230))
    return canvas


def both(first: Callable, second: Callable) -> Callable:
    def edit(img: Image.Image, rng: random.Random) -> Image.Image:
        return second(first(img, rng), rng)
    edit.__name__ = f"{first.__name__}+{second.__name__}"
    return edit


@dataclass(frozen=True)
class Tier:
    target: float
    edits: tuple[Callable, ...]


TIERS = {
    "easy": Tier(0.998, (jpeg25, resize50, thumb320, grayscale, brightness, webp, watermark, caption, crop5)),
    "hard": Tier(0.98, (letterbox, screenshot, mirror, rotate3, crop15)),
    "combined": Tier(0.97, (both(watermark, screenshot), both(letterbox, jpeg25), both(mirror, crop10),
                            bars_above_below)),
    "harsh": Tier(0.75, (crop25, rotate10, collage_tile)),
}


def variants(originals_: dict[str, Image.Image]) -> list[tuple[str, str, str, Image.Image]]:
    """(original name, tier, edit name, edited image) for every original and every edit."""
    out = []
    for name in sorted(originals_):
        img = originals_[name]
        for tier, spec in TIERS.items():
            for edit in spec.edits:
                rng = random.Random(f"{name}/{edit.__name__}")
                out.append((name, tier, edit.__name__, edit(img, rng)))
    return out


def jpeg_bytes(img: Image.Image, quality: int = 92) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()
