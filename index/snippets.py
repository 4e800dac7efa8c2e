"""Snippets cut from the original text by the shared analysis, so a hit shows the same
snippet whichever backend found it (backends' own highlighters analyse differently)."""

from __future__ import annotations

import html

from tawthiq.index.analysis import tokens

WIDTH = 220  # characters of context around the best cluster of matches


def one_edit(a: str, b: str) -> bool:
    """Whether two words are at most one insertion, deletion or substitution apart."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)):] == b[i + 1:]


def snippet(text: str, terms: set[str], prefixes: list[str], width: int = WIDTH,
            near: tuple[str, ...] = ()) -> str:
    """HTML: the part of `text` with the most distinct query words, matches in <mark>; `near`:
    words also marked when a word of the text is one edit from them (OCR-tolerant matches)."""
    if not text:
        return ""
    marks = [
        (t.start, t.end, t.term) for t in tokens(text)
        if t.term in terms or any(t.word.startswith(p) for p in prefixes)
        or any(one_edit(t.word, w) for w in near)
    ]
    if not marks:
        cut = text[:width]
        return html.escape(cut) + ("…" if len(text) > width else "")
    best, best_score = 0, -1
    for i, (start, _, _) in enumerate(marks):
        window = {m[2] for m in marks[i:] if m[1] <= start + width}
        if len(window) > best_score:
            best, best_score = i, len(window)
    first = marks[best][0]
    begin = max(0, first - width // 4)
    if begin:
        space = text.rfind(" ", 0, begin + 1)
        begin = space + 1 if space >= 0 and begin - space < 20 else begin
    end = min(len(text), begin + width)
    if end < len(text):
        space = text.find(" ", end)
        end = space if 0 <= space - end < 20 else end
    out = ["…" if begin else ""]
    pos = begin
    for start, stop, _ in marks:
        if start < begin or stop > end:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:stop])}</mark>")
        pos = stop
    out.append(html.escape(text[pos:end]))
    out.append("…" if end < len(text) else "")
    return "".join(out)
