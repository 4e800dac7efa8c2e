"""The one interface every search backend implements, and what it returns.

Backends receive the parsed query tree (`index.query`) and documents built by
`index.documents`; analysis, snippets and near-duplicate folding live above them
(`index.search`), so both backends give the same answers and only differ in where they run.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from tawthiq.errors import ConfigError, NotFound, Unavailable
from tawthiq.index.documents import IndexDoc
from tawthiq.index.query import Node

FACETS = ("platform", "source", "author", "lang", "month", "has")
FACET_SIZE = 20


class IndexUnavailable(Unavailable, RuntimeError):
    """The index cannot be used as it is (missing, built with another analysis, server down);
    the message says what to do."""


class IndexMissing(NotFound, IndexUnavailable):
    """No usable index has been built (none yet, or one built with another analysis):
    `tawthiq reindex` builds it. Not found, rather than a server that is down."""


class BackendMisconfigured(ConfigError, IndexUnavailable):
    """The settings name no usable backend (an unknown name, Elasticsearch without a URL)."""


@dataclass
class RawHit:
    stored: dict[str, Any]
    score: float | None


@dataclass
class RawResult:
    total: int
    hits: list[RawHit]
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class Rebuild(Protocol):
    """A new, empty index being filled; it replaces the live one only when the block ends
    without error (an interrupted rebuild leaves the old index serving)."""

    encode: Any  # module-level function IndexDoc -> (id, payload), picklable for analysis workers

    def add(self, docs: Iterable[IndexDoc]) -> int: ...

    def add_encoded(self, items: Iterable[tuple[str, Any]]) -> int: ...


class Backend(Protocol):
    name: str

    def upsert(self, docs: Iterable[IndexDoc]) -> int:
        """Add or replace documents by id and make them searchable; returns how many."""

    def search(self, query: Node, *, sort: str, offset: int, limit: int) -> RawResult:
        """Matching documents in relevance (`sort="relevance"`) or newest-first (`"date"`) order."""

    def post_ids(self, query: Node) -> list[str]:
        """The post id of every matching document (exports take every copy)."""

    def facets(self, query: Node) -> dict[str, list[tuple[str, int]]]:
        """Counts per value of each field in FACETS over all matching documents."""

    def cluster_sizes(self, clusters: list[str]) -> dict[str, int]:
        """How many documents are in each named near-duplicate cluster (whole index)."""

    def count(self) -> int: ...

    def rebuild(self) -> AbstractContextManager[Rebuild]: ...

    def close(self) -> None: ...
