"""The fetcher registry: captures outside Scrapy, one module per fetcher, named once here.

A platform plans `FetchJob(fetcher=NAME, ...)`; the capture session looks NAME up here and runs
the fetcher after the crawl, in the same process and into the same WARC file. `register` adds a
fetcher that lives elsewhere (a plugin, a test) for the life of the process.
"""

from __future__ import annotations

import importlib
from functools import cache

from tawthiq.crawlers.fetchers.base import FetchContext, Fetcher

__all__ = ["FetchContext", "Fetcher", "all_fetchers", "fetcher", "register", "unregister"]

NAMES: tuple[str, ...] = (
    "ytdlp",
    "browser",
)

_REGISTERED: dict[str, Fetcher] = {}


@cache
def _builtin() -> tuple[Fetcher, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}").FETCHER for name in NAMES)


def all_fetchers() -> tuple[Fetcher, ...]:
    return (*_builtin(), *_REGISTERED.values())


def fetcher(name: str) -> Fetcher:
    for candidate in all_fetchers():
        if candidate.name == name:
            return candidate
    raise ValueError(f"no fetcher {name!r} (known: {', '.join(f.name for f in all_fetchers())})")


def register(extra: Fetcher) -> None:
    """Add a fetcher not listed in NAMES; a name already taken is refused."""
    if any(f.name == extra.name for f in all_fetchers()):
        raise ValueError(f"a fetcher named {extra.name!r} is registered already")
    _REGISTERED[extra.name] = extra


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)
