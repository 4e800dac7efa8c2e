"""The fields of one death notice (نعي), read from the OCR result of its image.

Why a rule-based reader: notices follow a few fixed phrasings, and every value must be traceable
to the words it came from (a researcher checks it against the image), which patterns over the
OCR lines give directly. What is read, where the notice states it:

- **names**: the words after a title of the dead (الشهيد/الشهيدة, المرحوم/المرحومة,
  الفقيد/الفقيدة, "انتقل إلى رحمة الله [تعالى]", "استشهد/توفي [الشاب/الطفل/الحاج…]"; English
  "Martyr", "the late", "in loving memory of", "… passed away / was killed"), up to a word that
  opens another field (عن، في، بتاريخ، إثر، جراء…), a number or the end of the line; on the next
  line when the title ends its line. Two to six words; a word OCR cut in two (عا دل) is joined;
  epithets before the first name (ال-words: المغوار الشجاع) are left out; عمر/علي/عبد الله/صباح end
  a name only as the phrases they also open (_ends_name).
  Several titles, several names; the second pass's reading of a name is another reading of it
  (the surer one stands), never a second person. With no title read (OCR garbled it), the line
  just above "عن عمر" when it opens with a long ال-word, at lower confidence (x0.6).
- **age**: "عن عمر (يناهز|ناهز) N عاماً/سنة", "البالغ من العمر N", "عمره N"; "aged N", "N years
  old". Arabic-Indic or Western digits; 0-120.
- **date of death**: d/m/yyyy, yyyy/m/d (/, - or .), or "5 تشرين الأول 2026" / "5 October 2026"
  (Gregorian, Levantine and Egyptian month names) / "14 ربيع الآخر 1448" (Hijri month names);
  the calendar from the year (1300-1500: Hijri), a following هـ or م, or the month name. The
  date after بتاريخ/يوم/on (or in the line of a death verb) is preferred to any other.
- **place**: "في/بـ مدينة|قرية|بلدة|مخيم|حي X", or "في X" in the line of the date or a death
  verb; English "in X" after died/killed.
- **cause**: the words after إثر/جراء/بسبب/نتيجة, or from a word of violence (قصف، غارة، قنص…)
  to the next field; English "in/by/due to … (airstrike, shelling…)".

**When a text is a notice**: a name was read in a name slot *and* the text has at least one other
marker of a notice (the header نعي/ينعى, "إنا لله وإنا إليه راجعون" or its راجعون, "عن عمر",
بتاريخ, a death verb, a second title, "passed away", "obituary"…). A poster that only says
"الشهيد" somewhere, or a title and a name and nothing else, is not. The word that opened the
slot is not that other sign: when every name was opened by a death verb ("استشهد مواطن برصاص…",
"John Smith was killed in…"), or by "Martyr", that is how news reports a death, and a notice must
say more. A title right after a place or body named after the dead (مدرسة/شارع/مسجد الشهيد X) is
a dedication, no name slot. At most MAX_NAMES names are read (the marker "more-names" says more
were there): a longer text is no single notice, and the bound keeps a crafted megabyte linear.

Each field has a confidence: the mean Tesseract confidence of its words (0-1), lowered when a
title was matched within one edit (OCR misreads الشهيدة as الشبيدة), and the words with their
boxes. Values are the words as read (OCR errors included): nothing is corrected or guessed, and
nothing is merged across notices.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from tawthiq.index.analysis import normalize_word
from tawthiq.index.snippets import one_edit

EXTRACTOR = "tawthiq-notices/2"  # bump when a change alters what is read
# More names than a notice holds (a family's or a bulletin's notice lists a few dozen at most): the
# text is not one notice, and comparing each further name with every earlier one would make a
# crafted or garbled text of 100 KB take minutes (the reader runs where the catalog is written).
# The first MAX_NAMES stand and the marker "more-names" says others were not read.
MAX_NAMES = 40
VERB_FACTOR = 0.9  # a name opened by a death verb (استشهد X, "X was killed"), not by a title

_TOKEN = re.compile(r"\S+")
_EDGE = "()[]{}«»\"'.,،:؛;!؟?-–—_|*"

# folded forms (index.analysis.normalize_word: ة→ه, أ→ا, ى→ي, digits→ASCII, case folded)
DEATH_TITLES = {"الشهيد", "الشهيده", "المرحوم", "المرحومه", "الفقيد", "الفقيده", "الشهداء"}
HONORIFICS = {"الشاب", "الشابه", "الطفل", "الطفله", "الحاج", "الحاجه", "السيد", "السيده", "الاستاذ",
              "الاستاذه", "الدكتور", "الدكتوره", "المهندس", "المهندسه", "الشيخ", "البطل", "المسعف", "الصحفي",
              "الصحفيه", "المواطن", "المواطنه", "الرضيع", "الرضيعه", "الفتي", "الفتاه", "الام", "الاب", "الجد",
              "الجده", "القائد", "المجاهد", "الشهيدين", "تعالي"}
DEATH_VERBS = {"استشهد", "استشهدت", "توفي", "توفيت", "ارتقي", "ارتقت", "قتل", "قتلت", "انتقل", "انتقلت",
               "وافته", "وافتها", "استشهاد", "وفاه", "ارتقاء"}
HEADERS = {"نعي", "ينعي", "تنعي", "ننعي", "النعي"}
STOP = {"عن", "في", "بتاريخ", "تاريخ", "اثر", "جراء", "بسبب", "نتيجه", "يوم", "اليوم", "الذي", "التي", "رحمه",
        "رحمها", "من", "علي", "الي", "وذلك", "ابان", "خلال", "اثناء", "بعد", "اسكنه", "اسكنها", "تغمده",
        "تغمدها", "عمر", "العمر", "البالغ", "البالغه", "انا", "لله", "الله", "بمدينه", "بقريه", "ببلده",
        "بمخيم", "بحي", "صباح", "مساء", "فجر", "ليله", "و", "ال", "aged", "age", "on", "in", "who", "was",
        "passed", "died", "killed", "at", "of", "from", "born", "—"}
PLACE_TYPES = {"مدينه", "قريه", "بلده", "مخيم", "حي", "محافظه", "منطقه", "بلدة", "ناحيه", "مدينة"}
PLACE_PREFIXED = {"بمدينه": "مدينه", "بقريه": "قريه", "ببلده": "بلده", "بمخيم": "مخيم", "بحي": "حي",
                  "بمحافظه": "محافظه", "بمنطقه": "منطقه"}
NOT_PLACES = {"ذمه", "رحمه", "عمر", "سبيل", "جنات", "الفردوس", "مثواه", "ظروف", "حادث", "قصف", "غاره"}
# Places and bodies named after the dead (مدرسة الشهيد X, شارع الشهيد X, مسجد الشهيد X): a title
# right after one of these is a dedication, not the name of one who died (a school's meeting
# "بتاريخ 3/10/2026" is no date of death). Also with a joined preposition (بمدرسة، لمسجد، ومخيم).
NAMED_AFTER = {"مدرسه", "مسجد", "شارع", "ميدان", "دوار", "مستشفي", "جامعه", "نادي", "مركز", "قاعه", "كتيبه",
               "كتائب", "لواء", "ساحه", "روضه", "مخيم", "حي", "جسر", "مجمع", "مؤسسه", "جمعيه", "بلده", "قريه",
               "مدينه", "معهد", "كليه", "مكتبه", "حديقه", "ملعب", "صاله", "مجموعه", "سريه", "جامع", "طريق"}


def _named_after(key: str) -> bool:
    return key in NAMED_AFTER or (key[:1] in ("ب", "ل", "و", "ف") and key[1:] in NAMED_AFTER)


CAUSE_OPENERS = {"اثر", "جراء", "بسبب", "نتيجه", "بفعل"}
VIOLENCE = {"قصف", "غاره", "قنص", "رصاص", "انفجار", "استهداف", "برصاص", "بقصف", "بغاره", "قذيفه", "صاروخ",
            "الغاره", "القصف", "اشتباكات", "لغم", "تفجير", "مجزره", "airstrike", "shelling", "strike",
            "sniper", "explosion", "bombing", "shot", "shell", "missile"}
UNITS = {"عاما", "عام", "سنه", "سنوات", "سنين", "ربيعا", "years", "year"}
OTHER_MARKERS = ("انا لله وانا اليه راجعون", "انتقل الي رحمه الله", "انتقلت الي رحمه الله", "وافته المنيه",
                 "passed away", "in loving memory", "obituary", "rest in peace", "was killed", "martyr")

GREGORIAN_MONTHS = {
    "كانون الثاني": 1, "شباط": 2, "اذار": 3, "نيسان": 4, "ايار": 5, "حزيران": 6, "تموز": 7, "اب": 8,
    "ايلول": 9, "تشرين الاول": 10, "تشرين الثاني": 11, "كانون الاول": 12,
    "يناير": 1, "فبراير": 2, "مارس": 3, "ابريل": 4, "مايو": 5, "يونيو": 6, "يوليو": 7, "اغسطس": 8,
    "سبتمبر": 9, "اكتوبر": 10, "نوفمبر": 11, "ديسمبر": 12,
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
}
HIJRI_MONTHS = {
    "محرم": 1, "صفر": 2, "ربيع الاول": 3, "ربيع الاخر": 4, "ربيع الثاني": 4, "جمادي الاولي": 5,
    "جمادي الاخره": 6, "جمادي الثانيه": 6, "رجب": 7, "شعبان": 8, "رمضان": 9, "شوال": 10, "ذو القعده": 11,
    "ذو الحجه": 12,
}
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/\-.\\](\d{1,2})[/\-.\\](\d{1,4})$")
_ARABIC = re.compile(r"[\u0621-\u064a]")
_INNER = re.compile(r"[.,،:؛'\"|\[\]()«»!؟?*]")
_LATIN_NAME = re.compile(r"^[A-Z][a-zA-Z'\-]+$")


def fold(word: str) -> str:
    return normalize_word(word.strip(_EDGE))


@dataclass
class Token:
    raw: str  # as read, edge punctuation removed
    key: str  # folded
    line: int  # index into the lines


@dataclass
class Field:
    """One value a notice states, with how sure the reading is and the words it came from."""

    value: Any
    text: str  # the words as read
    confidence: float  # 0-1
    words: list[dict[str, Any]] = field(default_factory=list)  # OCR words: text, conf, box, pass
    alternatives: list[str] = field(default_factory=list)  # other readings of it (the second pass)


@dataclass
class Notice:
    names: list[Field]
    age: Field | None
    date: Field | None
    place: Field | None
    cause: Field | None
    language: str
    markers: list[str]

    @property
    def confidence(self) -> float:
        """The notice's confidence is its weakest name's: a name is what a row is found by."""
        return min((n.confidence for n in self.names), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence"] = round(self.confidence, 3)
        out["extractor"] = EXTRACTOR
        return out


# -- reading the OCR record ----------------------------------------------------------------------
def _lines(ocr: dict[str, Any]) -> list[str]:
    """The first pass's lines, then the second pass's extra lines (fields missing from the first
    are looked for there)."""
    return [line for part in (ocr.get("text") or "", ocr.get("extra_text") or "") for line in part.splitlines()
            if line.strip()]


def _tokens(lines: list[str]) -> list[list[Token]]:
    out = []
    for i, line in enumerate(lines):
        row = []
        for m in _TOKEN.finditer(line):
            raw = m.group().strip(_EDGE)
            if _ARABIC.search(raw) and not _NUMERIC_DATE.match(fold(raw)):
                raw = _INNER.sub("", raw)  # با.سل: a speck read inside a word
            if raw:
                row.append(Token(raw, fold(raw), i))
        out.append(row)
    return out


class _Words:
    """The OCR words of the record, to find the source (box, confidence) of each token read."""

    def __init__(self, words: list[dict[str, Any]]) -> None:
        self.by_key: dict[str, list[dict[str, Any]]] = {}
        for w in words:
            key = fold(str(w.get("text") or ""))
            if key:
                self.by_key.setdefault(key, []).append(w)

    def find(self, tokens: list[Token]) -> tuple[list[dict[str, Any]], float]:
        found = []
        for tok in tokens:
            candidates = self.by_key.get(tok.key) or []
            if candidates:  # the first pass's reading first (the words are stored pass by pass)
                w = candidates[0]
                found.append({"text": w.get("text"), "conf": w.get("conf"), "box": w.get("box"),
                              "pass": w.get("pass"), **({"time": w["time"]} if "time" in w else {})})
        if not tokens:
            return found, 0.0
        confs = [float(c) / 100 for c in (w.get("conf") for w in found) if isinstance(c, (int, float))]
        # a token with no OCR word of its own (the digits pass merged pieces) counts as 0.5
        confs += [0.5] * (len(tokens) - len(found))
        return found, max(0.0, min(1.0, sum(confs) / len(confs)))


def _field(words: _Words, tokens: list[Token], value: Any, factor: float = 1.0) -> Field:
    found, conf = words.find(tokens)
    return Field(value, " ".join(t.raw for t in tokens), round(conf * factor, 3), found)


def _is_number(key: str) -> bool:
    return key.isdigit()


def _title(key: str) -> tuple[bool, float]:
    """Is this word a title of the dead (exactly, or within one edit for the long ones)?"""
    if key in DEATH_TITLES:
        return True, 1.0
    if key.startswith("و") and key[1:] in DEATH_TITLES:  # والشهيد: a second name
        return True, 1.0
    if len(key) >= 6 and any(one_edit(key, t) for t in DEATH_TITLES):
        return True, 0.85
    return False, 0.0


def _is_stop(tok: Token) -> bool:
    return tok.key in STOP or _is_number(tok.key) or tok.key in PLACE_PREFIXED or bool(_title(tok.key)[0]) \
        or tok.key in CAUSE_OPENERS


_TIME_WORDS = {"صباح", "مساء", "فجر", "ليله"}  # صباح اليوم… and the names صباح, فجر


def _ends_name(name: list[Token], row: list[Token], j: int) -> bool:
    """Does row[j] end the name read so far? As _is_stop, but for the words that are also among the
    commonest names: عمر (Omar; the age phrase "عن عمر" ends the name at عن, and عمر before
    ناهز/يناهز or a number, when OCR lost the عن), علي (Ali; the preposition is على, with ى, as OCR
    reads it), الله after عبد (عبد الله), and صباح/فجر as the first word of a name."""
    tok = row[j]
    if tok.key == "عمر":
        after = row[j + 1].key if j + 1 < len(row) else ""
        return after in ("ناهز", "يناهز") or _is_number(after)
    if tok.key == "علي" and not tok.raw.endswith("ى"):
        return False
    if tok.key == "الله" and name and name[-1].key == "عبد":
        return False
    if tok.key in _TIME_WORDS and not name:
        return False
    return _is_stop(tok)


def _name_after(rows: list[list[Token]], li: int, start: int) -> list[Token]:
    """The name that starts at rows[li][start] (honorifics skipped; the next line if this one ends)."""
    row = rows[li]
    j = start
    while j < len(row) and (row[j].key in HONORIFICS or row[j].key in DEATH_TITLES):
        j += 1
    if j >= len(row) and li + 1 < len(rows):
        row, j = rows[li + 1], 0
        while j < len(row) and row[j].key in HONORIFICS:
            j += 1
    name: list[Token] = []
    while j < len(row) and len(name) < 6 and not _ends_name(name, row, j):
        if len(row[j].key) >= 2 or row[j].key in ("بن", "ابو"):
            name.append(row[j])
        j += 1
    name = _joined(name)
    # الشهيد البطل المغوار أحمد خالد: epithets (ال-words) before the first name are not the name;
    # a name's ال-word is its family name, at the end
    while len(name) > 2 and name[0].key.startswith("ال") and not all(t.key.startswith("ال") for t in name[1:-1]):
        name = name[1:]
    return name if len(name) >= 2 else []


def _joined(name: list[Token]) -> list[Token]:
    """A word Tesseract cut in two (عا دل, شا كر: a gap inside a letter run) made one again: in a
    name, a piece of two letters or less (not بن) followed by a piece of three or less that does
    not open with ال is one word."""
    out: list[Token] = []
    i = 0
    while i < len(name):
        tok = name[i]
        nxt = name[i + 1] if i + 1 < len(name) else None
        if nxt is not None and len(tok.key) <= 2 and tok.key not in ("بن", "ابن") and tok.key.isalpha() \
                and not tok.key.isascii() and len(nxt.key) <= 3 and not nxt.key.startswith("ال"):
            out.append(Token(tok.raw + nxt.raw, tok.key + nxt.key, tok.line))
            i += 2
            continue
        out.append(tok)
        i += 1
    if len(out) >= 3 and len(out[-1].key) <= 2 and out[-1].key.isalpha() and not out[-1].key.isascii():
        last = out.pop()  # القا سم: the family name's tail
        out[-1] = Token(out[-1].raw + last.raw, out[-1].key + last.key, out[-1].line)
    return out


def _arabic_names(rows: list[list[Token]]) -> list[tuple[list[Token], float]]:
    out: list[tuple[list[Token], float]] = []
    for li, row in enumerate(rows):
        for j, tok in enumerate(row):
            is_title, factor = _title(tok.key)
            if is_title and j and _named_after(row[j - 1].key):
                continue  # مدرسة الشهيد X: named after X, not X's notice
            opener = is_title
            if not opener and tok.key in DEATH_VERBS:
                # استشهد الشاب X / انتقل إلى رحمة الله تعالى X
                k = j + 1
                keys = [t.key for t in row[k:k + 3]]
                if keys[:3] == ["الي", "رحمه", "الله"]:
                    k += 3
                elif tok.key in ("انتقل", "انتقلت", "وافته", "وافتها"):
                    continue
                opener, factor = True, VERB_FACTOR
                if k < len(row) and _title(row[k].key)[0]:
                    continue  # the title that follows opens the name itself
                name = _name_after(rows, li, k)
                if name:
                    out.append((name, factor))
                continue
            if opener:
                name = _name_after(rows, li, j + 1)
                if name:
                    out.append((name, factor))
    return out


def _name_above_age(rows: list[list[Token]]) -> list[tuple[list[Token], float]]:
    """No title read: the line just above "عن عمر", when its first word looks like a misread title
    (a long word with ال) and the rest like a name (3-5 words, none opening another field).
    Confidence lowered (x0.6): the slot is inferred from the layout, not read."""
    for li in range(1, len(rows)):
        keys = [t.key for t in rows[li]]
        if keys[:2] != ["عن", "عمر"]:
            continue
        above = rows[li - 1]
        if 3 <= len(above) <= 6 and above[0].key.startswith("ال") and len(above[0].key) >= 5 \
                and not any(_ends_name(above[1:i], above, i) for i in range(1, len(above))):
            name = _joined(above[1:])
            if len(name) >= 2:
                return [(name, 0.6)]
    return []


def _latin_names(lines: list[str]) -> list[tuple[list[Token], float]]:
    out: list[tuple[list[Token], float]] = []
    for li, line in enumerate(lines):
        toks = [Token(m.group().strip(_EDGE), fold(m.group()), li) for m in _TOKEN.finditer(line)]
        toks = [t for t in toks if t.raw]
        low = [t.key for t in toks]
        for j in range(len(toks)):
            after = None
            if low[j] == "martyr" or (low[j] == "late" and j and low[j - 1] == "the") or \
                    (low[j] == "of" and j and low[j - 1] == "memory"):
                after = j + 1
            if after is not None:
                name: list[Token] = []
                k = after
                while k < len(toks) and _LATIN_NAME.match(toks[k].raw) and len(name) < 5:
                    name.append(toks[k])
                    k += 1
                if len(name) >= 2:
                    out.append((name, 1.0))
            if low[j] in ("passed", "died", "killed") or (low[j] == "was" and j + 1 < len(low) and low[j + 1] == "killed"):
                k = j - 1
                while k >= 0 and toks[k].raw.endswith(","):
                    k -= 1
                name = []
                while k >= 0 and _LATIN_NAME.match(toks[k].raw) and len(name) < 5:
                    name.insert(0, toks[k])
                    k -= 1
                if len(name) >= 2:
                    out.append((name, VERB_FACTOR))
    return out


def _age(rows: list[list[Token]]) -> tuple[list[Token], int, float] | None:
    for row in rows:
        keys = [t.key for t in row]
        for j, key in enumerate(keys):
            window: list[int] = []
            if key in ("عمر", "العمر", "عمره", "عمرها", "aged", "age"):
                window = list(range(j + 1, min(len(row), j + 4)))
            elif key in ("years", "year") and j + 1 < len(keys) and keys[j + 1] == "old":
                window = [j - 1] if j else []
            for k in window:
                if _is_number(keys[k]) and 0 <= int(keys[k]) <= 120:
                    unit = k + 1 < len(keys) and keys[k + 1] in UNITS
                    return [row[k]], int(keys[k]), 1.0 if unit or key in ("aged", "years", "year") else 0.9
    return None


def _valid(y: int, m: int, d: int, calendar: str) -> bool:
    if not (1 <= m <= 12 and 1 <= d <= 31):
        return False
    if calendar == "gregorian":
        try:
            date(y, m, d)
        except ValueError:
            return False
        return 1900 <= y <= 2100
    return 1300 <= y <= 1500 and d <= 30


def _calendar(year: int, after: str | None) -> str | None:
    if after in ("هـ", "ه", "هجري", "هجريه", "ah"):
        return "hijri"
    if 1300 <= year <= 1500:
        return "hijri"
    if 1900 <= year <= 2100:
        return "gregorian"
    return None


def _date_value(y: int, m: int, d: int, calendar: str) -> dict[str, Any]:
    return {"iso": f"{y:04d}-{m:02d}-{d:02d}", "calendar": calendar}


def _dates(rows: list[list[Token]]) -> list[tuple[list[Token], dict[str, Any], bool]]:
    """Every valid date read, with whether it sits where a date of death does."""
    found = []
    for row in rows:
        keys = [t.key for t in row]
        death_line = any(k in DEATH_VERBS for k in keys)
        for j, key in enumerate(keys):
            after = keys[j + 1] if j + 1 < len(keys) else None
            before = keys[j - 1] if j else ""
            preferred = death_line or before in ("بتاريخ", "تاريخ", "يوم", "on", "بيوم")
            m = _NUMERIC_DATE.match(key)
            if m:
                a, b, c = (int(x) for x in m.groups())
                y, mo, d = (a, b, c) if len(m.group(1)) == 4 else (c, b, a)
                cal = _calendar(y, after)
                if cal and _valid(y, mo, d, cal):
                    found.append(([row[j]], _date_value(y, mo, d, cal), preferred))
                continue
            if not _is_number(key) or int(key) > 31:
                continue
            for span in (2, 1):  # "14 ربيع الآخر 1448", "5 October 2026", "October 5, 2026" is below
                month = " ".join(keys[j + 1:j + 1 + span])
                if len(keys) > j + 1 + span and _is_number(keys[j + 1 + span]):
                    year = int(keys[j + 1 + span])
                    cal = "gregorian" if month in GREGORIAN_MONTHS else "hijri"
                    month_number = GREGORIAN_MONTHS.get(month) or HIJRI_MONTHS.get(month)
                    if month_number and _valid(year, month_number, int(key), cal):
                        found.append((row[j:j + 2 + span], _date_value(year, month_number, int(key), cal), preferred))
                        break
        for j, key in enumerate(keys[:-2]):  # October 5, 2026
            if key in GREGORIAN_MONTHS and _is_number(keys[j + 1]) and _is_number(keys[j + 2]):
                d, y = int(keys[j + 1]), int(keys[j + 2])
                if _valid(y, GREGORIAN_MONTHS[key], d, "gregorian"):
                    found.append((row[j:j + 3], _date_value(y, GREGORIAN_MONTHS[key], d, "gregorian"),
                                  death_line or (j > 0 and keys[j - 1] == "on")))
    return found


def _until_stop(row: list[Token], start: int, limit: int) -> list[Token]:
    out: list[Token] = []
    for tok in row[start:]:
        if len(out) >= limit or (out and (tok.key in STOP or _is_number(tok.key) or tok.key in CAUSE_OPENERS
                                          or tok.key in PLACE_PREFIXED or _NUMERIC_DATE.match(tok.key))):
            break
        out.append(tok)
    return out


def _place(rows: list[list[Token]]) -> tuple[list[Token], float] | None:
    loose = None
    for row in rows:
        keys = [t.key for t in row]
        context = any(k in DEATH_VERBS or k in ("بتاريخ", "تاريخ", "passed", "died", "killed") or _NUMERIC_DATE.match(k)
                      for k in keys)
        for j, key in enumerate(keys):
            if key in PLACE_PREFIXED or (key in PLACE_TYPES and j and keys[j - 1] in ("في", "ب", "علي", "الي")):
                words = _until_stop(row, j, 4)
                if len(words) >= 2:
                    return words, 1.0
            if key in ("في", "in") and loose is None and context and j + 1 < len(row):
                nxt = keys[j + 1]
                if nxt in PLACE_TYPES or nxt in NOT_PLACES or _is_number(nxt) or nxt in STOP:
                    continue
                if key == "in" and not _LATIN_NAME.match(row[j + 1].raw):
                    continue
                words = _until_stop(row, j + 1, 3)
                if words:
                    loose = (words, 0.8)
    return loose


def _place_value(tokens: list[Token]) -> str:
    """The place as named: بمدينة الأمل is مدينة الأمل (the preposition is not the place's)."""
    first = tokens[0].raw[1:] if tokens[0].key in PLACE_PREFIXED else tokens[0].raw
    return " ".join([first] + [t.raw for t in tokens[1:]])


def _cause(rows: list[list[Token]]) -> tuple[list[Token], float] | None:
    for row in rows:
        keys = [t.key for t in row]
        for j, key in enumerate(keys):
            if key in CAUSE_OPENERS and j + 1 < len(row):
                words = _until_stop(row, j + 1, 5)
                if words:
                    return words, 1.0
    for row in rows:
        keys = [t.key for t in row]
        for j, key in enumerate(keys):
            if key in VIOLENCE:
                return _until_stop(row, j, 5), 0.8
    return None


def _markers(lines: list[str], rows: list[list[Token]]) -> list[str]:
    flat = " ".join(t.key for row in rows for t in row)
    found = [m for m in OTHER_MARKERS if m in flat]
    keys = {t.key for row in rows for t in row}
    found += [m for m in ("عن عمر", "بتاريخ", "راجعون", "رحمه الله", "رحمها الله") if m in flat]
    found += sorted(keys & HEADERS)
    found += sorted(k for k in keys & DEATH_VERBS)
    if _age(rows):
        found.append("age")
    titles = [t.key for row in rows for t in row if _title(t.key)[0]]
    if titles:
        found.append("title")
    if len(titles) > 1:
        found.append("titles")
    return found


def _same_name(a: list[str], b: list[str]) -> bool:
    """Two readings of one name: most of their words alike (each within one edit)."""
    alike = sum(1 for w in a if any(w == x or (len(w) > 3 and one_edit(w, x)) for x in b))
    return alike * 2 > max(len(a), len(b)) or " ".join(a) in " ".join(b) or " ".join(b) in " ".join(a)


# The words that open a name slot themselves: a sign of a notice only beside another one.
_SLOT_MARKERS = {"title", "martyr", "was killed", "passed away", "more-names"} | DEATH_VERBS


def looks_like_notice(names: list[Any], markers: list[str], *, verb_only: bool = False) -> bool:
    """A name in a name slot and one more sign of a notice (the module docstring's rule). The word
    that opened the slot is not that other sign: "Martyr X" or, when every name was opened by a
    death verb, "استشهد مواطن برصاص…" / "John Smith was killed in…" is how news reports a death,
    and a notice says more (its header, عن عمر, بتاريخ, راجعون, a title of the dead…)."""
    ignored = _SLOT_MARKERS if verb_only else {"title", "martyr", "more-names"}
    return bool(names) and any(m not in ignored for m in markers)


def extract_notice(ocr: dict[str, Any]) -> Notice | None:
    """The notice in one image's OCR result, or None when its text does not read as one."""
    if ocr.get("status") != "text":
        return None
    lines = _lines(ocr)
    if not lines:
        return None
    rows = _tokens(lines)
    words = _Words([w for w in ocr.get("words") or [] if isinstance(w, dict)])
    latin = sum(c.isascii() and c.isalpha() for line in lines for c in line)
    arabic = sum("\u0600" <= c <= "\u06ff" for line in lines for c in line)
    language = "en" if latin > arabic else "ar"
    found = _arabic_names(rows) + _latin_names(lines)
    if not found:
        found = _name_above_age(rows)
    first_pass = len([line for line in (ocr.get("text") or "").splitlines() if line.strip()])
    names: list[Field] = []
    readings: list[list[str]] = []
    primary = 0  # names read in the first pass's lines
    verb_only = bool(found) and all(factor == VERB_FACTOR for _, factor in found)
    cut = False
    for tokens, factor in found:
        keys = [t.key for t in tokens]
        same = next((i for i, r in enumerate(readings) if _same_name(keys, r)), None)
        if same is None and tokens[0].line >= first_pass and primary:
            # the second pass re-reads the names the first read: its reading goes to the name it
            # shares most words with (the only one, when there is one), never a new person
            overlap = [sum(1 for w in keys if any(w == x or one_edit(w, x) for x in r)) for r in readings[:primary]]
            best = max(range(primary), key=lambda i: overlap[i])
            same = best if overlap[best] or primary == 1 else None
        if same is not None:  # the same name read again (the second pass): kept as another reading,
            # and the one Tesseract was surer of (mean word confidence) stands as the value
            text = " ".join(t.raw for t in tokens)
            if keys != readings[same] and text not in names[same].alternatives:
                other = _field(words, tokens, text, factor)
                if other.confidence > names[same].confidence:
                    other.alternatives = names[same].alternatives + [names[same].value]
                    names[same], readings[same] = other, keys
                else:
                    names[same].alternatives.append(text)
            continue
        if len(readings) >= MAX_NAMES:  # a new name past the bound: it and the rest not read, and said so
            cut = True
            break
        readings.append(keys)
        names.append(_field(words, tokens, " ".join(t.raw for t in tokens), factor))
        if tokens[0].line < first_pass:
            primary = len(names)
    markers = _markers(lines, rows) + (["more-names"] if cut else [])
    if not looks_like_notice(names, markers, verb_only=verb_only):
        return None
    age = _age(rows)
    dates = _dates(rows)
    dates.sort(key=lambda d: not d[2])  # preferred first, else the first read
    place = _place(rows)
    cause = _cause(rows)
    return Notice(
        names=names,
        age=_field(words, age[0], age[1], age[2]) if age else None,
        date=_field(words, dates[0][0], dates[0][1], 1.0 if dates[0][2] else 0.8) if dates else None,
        place=_field(words, place[0], _place_value(place[0]), place[1]) if place else None,
        cause=_field(words, cause[0], " ".join(t.raw for t in cause[0]), cause[1]) if cause and cause[0] else None,
        language=language, markers=markers,
    )


def extract_notices(ocr: dict[str, Any]) -> list[tuple[int, float | None, Notice]]:
    """The notices of one "ocr" record, as (frame, frame time, notice): an image's (frame 0, no
    time), or each video frame's apart, with that frame's own words (those carrying its `time`).
    A video's `text` joins every frame's lines, so reading it as one image mixed the people of
    several notices (names of two, age, date and place of the first) into one."""
    frames = ocr.get("frames")
    if not isinstance(frames, list):
        notice = extract_notice(ocr)
        return [(0, None, notice)] if notice is not None else []
    words = [w for w in ocr.get("words") or [] if isinstance(w, dict)]
    found = []
    for i, frame in enumerate(frames):
        if not isinstance(frame, dict):
            continue
        at = frame.get("time")
        notice = extract_notice({**frame, "words": [w for w in words if w.get("time") == at]})
        if notice is not None:
            found.append((i, at if isinstance(at, (int, float)) else None, notice))
    return found


__all__ = ["EXTRACTOR", "Field", "Notice", "extract_notice", "extract_notices", "fold", "looks_like_notice"]
