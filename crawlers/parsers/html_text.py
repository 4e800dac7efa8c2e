"""Visible text from HTML fragments, as a reader of the page would see it."""

from __future__ import annotations

import re

from parsel import Selector

_BR = re.compile(r"<br\s*/?>", re.I)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_WHITESPACE = re.compile(r"\s+")
_BLOCK_END = re.compile(r"</(p|li|h[1-6]|blockquote)>", re.I)


def clean_text(fragment: str | None) -> str:
    """Visible text of an HTML fragment, with <br> as newlines and emoji kept."""
    if not fragment:
        return ""
    # Source newlines are layout, not content: only <br> breaks a line on the page.
    fragment = _BR.sub("\n", _WHITESPACE.sub(" ", fragment))
    fragment = _BLOCK_END.sub("\n", fragment)
    text = Selector(text=fragment).xpath("string(//body)").get() or ""
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)
