"""The search language, parsed once into a tree that every backend compiles on its own.

    حلب "مستشفى القدس" -تدريب since:2016-11-01 platform:telegram
    (airstrike OR غارة) has:video mosq*

- words: all must match (analysed like the indexed text: diacritics, spellings, stems);
- "exact phrase": the words in this order, next to each other;
- `OR` (upper case) between two parts: either; parentheses group;
- `-part`: must not match;
- `word*`: any word starting with it (at least two letters before the `*`);
- `in:image`: the words must be in the text OCR read in the post's images (`in:text`: in the
  post's own text); without it either matches. Alone, `in:image` lists posts with image text.
  Image text is also matched tolerantly: a word of FUZZY_MIN letters or more read one edit off
  (a letter misread) still matches, ranked below exact matches and marked as a lead;
- filters: platform:, source:, author:, lang: (case-insensitive, exact), has:image|video|media,
  id: and cluster: (an index key, exact: `cluster:"telegram:chan/12"` lists one near-duplicate cluster),
  since:/until: with a date (2016, 2016-11, 2016-11-01, or 2016-11-01T06:00); `until` includes
  the whole day/month/year it names.

Lenient readings, reported in `Query.notes`: an unclosed quote runs to the end of the query;
a word with no letters (`--`, `!`) is ignored. Everything else that cannot be read raises
`QuerySyntaxError` naming the column, never a server error.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from tawthiq.errors import UserError
from tawthiq.index.analysis import analyze_word, split_words

FILTER_FIELDS = ("platform", "source", "author", "lang")
EXACT_FIELDS = ("id", "cluster")  # index keys, matched as given (links from the web app use them)
HAS_VALUES = ("image", "video", "media", "image_text")
DATE_FIELDS = ("since", "until")
SCOPES = ("image", "text")  # in:image, in:text
SCOPE_ALL = "all"
FUZZY_MIN = 4  # shorter words are matched exactly only (too many one-edit neighbours)
FUZZY_BOOST = 0.05  # a tolerant match's weight against an exact one's


class QuerySyntaxError(UserError, ValueError):
    def __init__(self, message: str, column: int, query: str) -> None:
        self.column = column  # 1-based
        self.query = query
        super().__init__(f"{message} (column {column})")

    def message(self) -> str:
        return f"query: {self}"

    def cli_message(self) -> str:
        return f"{self.message()}\n{self.pointer()}"

    def pointer(self) -> str:
        """The query with a caret under the problem, for terminals."""
        return f"{self.query}\n{' ' * (self.column - 1)}^"


# -- the tree -----------------------------------------------------------------------------------
class Node:
    pass


@dataclass(frozen=True)
class MatchAll(Node):
    pass


@dataclass(frozen=True)
class Terms(Node):
    """One or more analysed words that must appear in this order (one word: a term query).
    `scope`: where ("all": the post's text or its images' text; "image"; "text"). `words`: the
    normalised, unstemmed forms, for the tolerant match on image text."""

    raw: str
    terms: tuple[str, ...]
    phrase: bool = False
    scope: str = SCOPE_ALL
    words: tuple[str, ...] = ()

    def fuzzy_words(self) -> tuple[str, ...]:
        """The words matched tolerantly in image text (none when the scope is the post's text)."""
        return () if self.scope == "text" else self.words


@dataclass(frozen=True)
class Prefix(Node):
    raw: str
    word: str
    scope: str = SCOPE_ALL


@dataclass(frozen=True)
class Filter(Node):
    field: str  # platform, source, author, lang (lower-cased values), has, id, cluster (exact)
    value: str  # lower-cased


@dataclass(frozen=True)
class DateRange(Node):
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive


@dataclass(frozen=True)
class Not(Node):
    child: Node


@dataclass(frozen=True)
class And(Node):
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or(Node):
    children: tuple[Node, ...]


@dataclass
class Query:
    text: str
    root: Node
    notes: list[str] = field(default_factory=list)

    def highlight_terms(self) -> tuple[set[str], list[str]]:
        """(stemmed terms, word prefixes) that a snippet should mark: the positive parts only."""
        terms: set[str] = set()
        prefixes: list[str] = []

        def walk(node: Node) -> None:
            if isinstance(node, Terms):
                terms.update(node.terms)
            elif isinstance(node, Prefix):
                prefixes.append(node.word)
            elif isinstance(node, (And, Or)):
                for c in node.children:
                    walk(c)

        walk(self.root)
        return terms, prefixes


# -- lexer --------------------------------------------------------------------------------------
@dataclass
class _Tok:
    kind: str  # WORD, PHRASE, LPAREN, RPAREN, OR, NOT
    text: str
    col: int  # 1-based
    closed: bool = True


def _lex(q: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
        elif c == "(":
            out.append(_Tok("LPAREN", c, i + 1))
            i += 1
        elif c == ")":
            out.append(_Tok("RPAREN", c, i + 1))
            i += 1
        elif c == "-" and i + 1 < n and not q[i + 1].isspace() and (not out or out[-1].kind != "NOT"):
            out.append(_Tok("NOT", c, i + 1))
            i += 1
        elif c in "\"“”«»":
            end = _closing_quote(q, i + 1)
            if end < 0:
                out.append(_Tok("PHRASE", q[i + 1:], i + 1, closed=False))
                i = n
            else:
                out.append(_Tok("PHRASE", q[i + 1:end], i + 1))
                i = end + 1
        else:
            j = i
            while j < n and not q[j].isspace() and q[j] not in "()\"“”«»":
                if q[j] == ":" and j + 1 < n and q[j + 1] in "\"“”«»":
                    # field:"quoted value"
                    end = _closing_quote(q, j + 2)
                    j = n if end < 0 else end + 1
                    break
                j += 1
            text = q[i:j]
            out.append(_Tok("OR" if text == "OR" else "WORD", text, i + 1))
            i = j
    return out


def _closing_quote(q: str, start: int) -> int:
    for k in range(start, len(q)):
        if q[k] in "\"“”«»":
            return k
    return -1


# -- parser -------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _lex(text)
        self.pos = 0
        self.notes: list[str] = []
        self.scope = SCOPE_ALL

    def error(self, message: str, col: int) -> QuerySyntaxError:
        return QuerySyntaxError(message, col, self.text)

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def parse(self) -> Query:
        if not self.toks:
            raise self.error("empty query: type words to find, or a filter such as platform:telegram", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:  # only a stray ")" stops or_expr early
            raise self.error("')' has no matching '('", tok.col)
        root = _simplify(node)
        if self.scope != SCOPE_ALL:
            root = _scoped(root, self.scope)
            if self.scope == "image":  # only posts that have image text (also: `in:image` alone)
                root = _simplify(And((Filter("has", "image_text"), root)))
        return Query(self.text, root, self.notes)

    def or_expr(self) -> Node:
        first = self.peek()
        if first is not None and first.kind == "OR":
            raise self.error("OR needs something on its left", first.col)
        parts = [self.and_expr()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.pos += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RPAREN"):
                raise self.error("OR needs something on its right", tok.col)
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_expr(self) -> Node:
        parts: list[Node] = []
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            node = self.unary()
            if node is not None:
                parts.append(node)
        if not parts:
            return MatchAll()
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def unary(self) -> Node | None:
        tok = self.peek()
        assert tok is not None
        if tok.kind == "NOT":
            self.pos += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RPAREN"):
                raise self.error("'-' must be followed by what to exclude", tok.col)
            child = self.primary()
            return None if child is None else Not(child)
        return self.primary()

    def primary(self) -> Node | None:
        tok = self.peek()
        assert tok is not None
        self.pos += 1
        if tok.kind == "LPAREN":
            inner = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise self.error("'(' is never closed", tok.col)
            self.pos += 1
            return inner
        if tok.kind == "PHRASE":
            if not tok.closed:
                self.notes.append(f"the quote at column {tok.col} is not closed: read to the end of the query")
            return self.terms(tok.text, tok.col, phrase=True)
        return self.word(tok)

    def terms(self, raw: str, col: int, *, phrase: bool) -> Node | None:
        pairs = [p for w in split_words(raw) if (p := analyze_word(w))[1]]
        if not pairs:
            self.notes.append(f"{raw!r} at column {col} has no letters or digits: ignored")
            return None
        terms = tuple(p[1] for p in pairs)
        return Terms(raw, terms, phrase or len(terms) > 1, words=tuple(p[0] for p in pairs))

    def word(self, tok: _Tok) -> Node | None:
        text, col = tok.text, tok.col
        name, sep, value = text.partition(":")
        if sep and name.isascii() and name.isalpha() and not value.startswith("//"):
            return self.filter(name.lower(), value, col)
        if text.endswith("*"):
            stem = text.rstrip("*")
            words = split_words(stem)
            if len(words) != 1 or words[0] != stem:
                raise self.error(f"{text!r}: a prefix is one word followed by *", col)
            word = analyze_word(words[0])[0]
            if len(word) < 2:
                raise self.error(f"{text!r}: a prefix needs at least two letters before *", col)
            return Prefix(text, word)
        return self.terms(text, col, phrase=False)

    def filter(self, name: str, value: str, col: int) -> Node | None:
        value = value.strip("\"“”«»")
        if name == "in":
            if value.casefold() not in SCOPES:
                raise self.error(f"in: takes {' or '.join(SCOPES)}, not {value!r}", col)
            if self.scope not in (SCOPE_ALL, value.casefold()):
                raise self.error("a query is either in:image or in:text, not both", col)
            self.scope = value.casefold()
            return None
        if name in EXACT_FIELDS:
            if not value:
                raise self.error(f"{name}: needs a value", col)
            return Filter(name, value)
        if name not in FILTER_FIELDS + DATE_FIELDS + ("has",):
            known = ", ".join(f"{f}:" for f in FILTER_FIELDS + ("has", "in") + DATE_FIELDS)
            raise self.error(f"unknown filter {name + ':'!r}; filters are {known}", col)
        if not value:
            raise self.error(f"{name}: needs a value, e.g. {_EXAMPLES[name]}", col)
        if name == "has":
            if value.casefold() not in HAS_VALUES:
                raise self.error(f"has: takes {', '.join(HAS_VALUES)}, not {value!r}", col)
            return Filter("has", value.casefold())
        if name in DATE_FIELDS:
            start, end = _date_span(value)
            if start is None or end is None:
                raise self.error(f"{name}: {value!r} is not a date like 2016-11-01, 2016-11 or 2016", col)
            return DateRange(start, None) if name == "since" else DateRange(None, end)
        # casefold(), as the index stores these fields (lower() keeps ß, final sigma, ...)
        return Filter(name, value.casefold())


_EXAMPLES = {"platform": "platform:telegram", "source": "source:aleppo_news", "author": "author:\"Name\"",
             "lang": "lang:ar", "has": "has:image", "in": "in:image", "since": "since:2016-11-01", "until": "until:2016-12-31"}


def _date_span(value: str) -> tuple[datetime | None, datetime | None]:
    """(first instant, first instant after) of the day, month, year or moment a value names."""
    try:
        if len(value) == 4 and value.isdigit():
            y = int(value)
            return _utc(datetime(y, 1, 1)), _utc(datetime(y + 1, 1, 1))
        if len(value) == 7 and value[4] == "-":
            y, m = int(value[:4]), int(value[5:])
            last = calendar.monthrange(y, m)[1]
            return _utc(datetime(y, m, 1)), _utc(datetime(y, m, last)) + timedelta(days=1)
        if len(value) == 10:
            d = _utc(datetime.fromisoformat(value))
            return d, d + timedelta(days=1)
        d = _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        return d, d + timedelta(seconds=1)
    except ValueError:
        return None, None


def _utc(d: datetime) -> datetime:
    return d.replace(tzinfo=timezone.utc) if d.tzinfo is None else d.astimezone(timezone.utc)


def _simplify(node: Node) -> Node:
    """Flatten nested And/Or and merge since/until into one range, so backends see a tidy tree."""
    if isinstance(node, (And, Or)):
        kids: list[Node] = []
        for c in (_simplify(c) for c in node.children):
            if type(c) is type(node):
                kids.extend(c.children)  # type: ignore[attr-defined]
            elif isinstance(node, And) and isinstance(c, MatchAll):
                continue
            else:
                kids.append(c)
        if isinstance(node, And):
            ranges = [k for k in kids if isinstance(k, DateRange)]
            if len(ranges) > 1:
                starts = [r.start for r in ranges if r.start]
                ends = [r.end for r in ranges if r.end]
                merged = DateRange(max(starts) if starts else None, min(ends) if ends else None)
                kids = [k for k in kids if not isinstance(k, DateRange)] + [merged]
        if not kids:
            return MatchAll()
        return kids[0] if len(kids) == 1 else type(node)(tuple(kids))
    if isinstance(node, Not):
        return Not(_simplify(node.child))
    return node


def _scoped(node: Node, scope: str) -> Node:
    """The tree with every word and prefix limited to `scope` (in:image / in:text)."""
    if isinstance(node, (Terms, Prefix)):
        return replace(node, scope=scope)
    if isinstance(node, Not):
        return Not(_scoped(node.child, scope))
    if isinstance(node, (And, Or)):
        return type(node)(tuple(_scoped(c, scope) for c in node.children))
    return node


def parse_query(text: str) -> Query:
    return _Parser(text.strip()).parse()
