"""Synthetic Arabic death notices (نعي) and the damage re-posting does to them, for the OCR tests
and bench/ocr. Every name, place and date is invented; the notices are drawn by Pillow with
libraqm (real Arabic shaping and bidi) in Debian's fonts (Amiri, Noto Naskh, Noto Kufi,
KacstBook), on a few templates (plain card, black header bar, a portrait box).

Conditions, as issue 16 lists them: clean, JPEG quality 30, half scale, an app screenshot (the
card inside a chat frame), phone-like (perspective, blur, noise).
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

FONTS = {
    "naskh": "/usr/share/fonts/truetype/noto/NotoNaskhArabic-Regular.ttf",
    "kufi": "/usr/share/fonts/truetype/noto/NotoKufiArabic-Regular.ttf",
    "amiri": "/usr/share/fonts/opentype/fonts-hosny-amiri/Amiri-Regular.ttf",
    "kacst": "/usr/share/fonts/truetype/kacst/KacstBook.ttf",
}
TEMPLATES = ("plain", "header", "portrait")
CONDITIONS = ("clean", "jpeg30", "half", "screenshot", "phone")

FIRST = ("سامر", "خالد", "يوسف", "مازن", "رامي", "باسل", "هشام", "وائل", "نادر", "فراس", "طارق", "زياد",
         "عمار", "ليلى", "هالة", "رنا", "سلمى", "ديما", "نور", "ريم")
MIDDLE = ("خليل", "ماجد", "سليم", "عادل", "كريم", "جميل", "منير", "نبيل", "شاكر", "رضوان")
LAST = ("العبدالله", "الحسيني", "النجار", "الخطيب", "الشامي", "الحلبي", "الزعبي", "المصري", "القاسم",
        "البيطار", "الصالح", "الحداد")
PLACES = ("بلدة المثال", "قرية النموذج", "حي الزيتون", "مدينة الأمل", "الحي الشرقي")
_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@dataclass(frozen=True)
class Notice:
    key: str
    name: str  # the full name, as a researcher would type it
    age: int
    place: str
    date: str  # Western digits, as in the ground truth
    font: str
    template: str

    def lines(self) -> list[str]:
        title = "الشهيد" if self.name.split()[0] not in FIRST[13:] else "الشهيدة"
        return ["بسم الله الرحمن الرحيم", "نعي", f"{title} {self.name}",
                f"عن عمر ناهز {str(self.age).translate(_DIGITS)} عاماً",
                f"في {self.place} بتاريخ {self.date.translate(_DIGITS)}",
                "إنا لله وإنا إليه راجعون"]

    @property
    def text(self) -> str:
        return "\n".join(self.lines())


def notices(n: int, seed: int = 16) -> list[Notice]:
    """`n` notices with distinct invented names, cycling through fonts and templates."""
    rng = random.Random(seed)
    names: list[str] = []
    while len(names) < n:
        name = f"{rng.choice(FIRST)} {rng.choice(MIDDLE)} {rng.choice(LAST)}"
        if name not in names:
            names.append(name)
    fonts = list(FONTS)
    return [Notice(f"n{i:03d}", name, rng.randint(9, 80), rng.choice(PLACES),
                   f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/2026", fonts[i % len(fonts)],
                   TEMPLATES[(i // len(fonts)) % len(TEMPLATES)])
            for i, name in enumerate(names)]


def has_shaping() -> bool:
    """Pillow draws Arabic right only with libraqm (shaping and bidi); without it the letters come
    out isolated and left to right, which no OCR reads."""
    return bool(features.check("raqm"))


def render(notice: Notice, size: tuple[int, int] = (800, 1000)) -> Image.Image:
    """The notice as a designed card: a cream card with a frame, centred lines, right to left."""
    w, h = size
    img = Image.new("RGB", size, (250, 246, 236))
    draw = ImageDraw.Draw(img)
    draw.rectangle([14, 14, w - 15, h - 15], outline=(60, 50, 40), width=4)
    path = FONTS[notice.font]
    y = 50
    if notice.template == "header":
        draw.rectangle([18, 18, w - 19, 150], fill=(20, 20, 20))
    if notice.template == "portrait":
        rng = random.Random(notice.key)
        box = (w // 2 - 90, 190, w // 2 + 90, 390)
        draw.rectangle(box, fill=(rng.randint(60, 160), rng.randint(60, 160), rng.randint(60, 160)))
        draw.ellipse((box[0] + 45, box[1] + 30, box[2] - 45, box[1] + 120), fill=(200, 170, 140))
    sizes = (34, 64, 54, 38, 36, 36)
    for i, (line, px) in enumerate(zip(notice.lines(), sizes)):
        font = ImageFont.truetype(path, px)
        color = (250, 250, 250) if notice.template == "header" and i < 2 else (25, 20, 15)
        if i == 1 and notice.template != "header":
            color = (150, 20, 20)
        if i == 2 and notice.template == "portrait":
            y = max(y, 410)
        left, top, right, bottom = draw.textbbox((0, 0), line, font=font, direction="rtl", language="ar")
        draw.text(((w - (right - left)) / 2 - left, y - top), line, font=font, fill=color,
                  direction="rtl", language="ar")
        y += (bottom - top) + (60 if i < 2 else 48)
    return img


def _jpeg(img: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """The card as a chat app shows it: a phone-sized dark frame, a top bar, a caption below."""
    frame = Image.new("RGB", (1080, 1920), (23, 33, 43))
    draw = ImageDraw.Draw(frame)
    draw.rectangle([0, 0, 1080, 160], fill=(36, 47, 61))
    draw.ellipse((30, 40, 110, 120), fill=(90, 140, 200))
    card = img.resize((900, int(900 * img.height / img.width)))
    top = 300 + rng.randint(0, 80)
    draw.rounded_rectangle([70, top - 20, 1010, top + card.height + 140], 24, fill=(43, 82, 120))
    frame.paste(card, (90, top))
    return frame


def _phone(img: Image.Image, rng: random.Random) -> Image.Image:
    """A photo of the printed card: on a table, in perspective, slightly blurred, with noise."""
    import cv2

    w, h = img.size
    canvas_w, canvas_h = int(w * 1.3), int(h * 1.3)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = lambda: rng.uniform(-0.05, 0.05) * w  # noqa: E731
    ox, oy = (canvas_w - w) / 2, (canvas_h - h) / 2
    dst = np.float32([[ox + j(), oy + j()], [ox + w + j(), oy + j()], [ox + w + j(), oy + h + j()],
                      [ox + j(), oy + h + j()]])
    matrix = cv2.getPerspectiveTransform(src, dst)
    table = (rng.randint(70, 110), rng.randint(55, 85), rng.randint(40, 60))
    warped = cv2.warpPerspective(np.asarray(img), matrix, (canvas_w, canvas_h), borderValue=table)
    out = Image.fromarray(warped).filter(ImageFilter.GaussianBlur(1.1))
    arr = np.asarray(out).astype(np.int16)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, 7, arr.shape)
    return Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))


CONDITION: dict[str, Callable[[Image.Image, random.Random], bytes]] = {
    "clean": lambda img, rng: _png(img),
    "jpeg30": lambda img, rng: _jpeg(img, 30),
    "half": lambda img, rng: _png(img.resize((img.width // 2, img.height // 2), Image.Resampling.LANCZOS)),
    "screenshot": lambda img, rng: _png(_screenshot(img, rng)),
    "phone": lambda img, rng: _jpeg(_phone(img, rng), 85),
}


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def image(notice: Notice, condition: str = "clean") -> bytes:
    """The notice's file (PNG or JPEG bytes) in one condition; the same each time."""
    return CONDITION[condition](render(notice), random.Random(f"{notice.key}-{condition}"))


def text_free_photos() -> list[tuple[str, bytes]]:
    """scikit-image's bundled photographs (no text): what the gate must let go cheaply."""
    from skimage import data

    out = []
    for name in ("astronaut", "camera", "chelsea", "coffee", "hubble_deep_field", "retina", "rocket", "moon",
                 "coins", "immunohistochemistry", "grass", "gravel", "brick", "stereo_motorcycle", "cell",
                 "horse", "cat", "colorwheel", "logo", "microaneurysms", "eagle"):
        loader = getattr(data, name, None)
        if loader is None:
            continue
        try:
            arr = loader()
        except Exception:  # noqa: BLE001 - a picture that needs a download (pooch) is skipped
            continue
        if isinstance(arr, tuple):
            arr = arr[0]
        arr = np.asarray(arr)
        if arr.dtype != np.uint8:
            arr = (arr.astype(float) / max(float(arr.max()), 1.0) * 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = arr[:, :, :3]
        out.append((name, _jpeg(Image.fromarray(arr), 90)))
    return out


def save(folder: Path, items: list[Notice], conditions: tuple[str, ...] = CONDITIONS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in items:
        for c in conditions:
            data = image(n, c)
            ext = "jpg" if data.startswith(b"\xff\xd8") else "png"
            path = folder / f"{n.key}-{c}.{ext}"
            path.write_bytes(data)
            paths.append(path)
    return paths
