"""Analysis on several processes for rebuilds: the Python half of indexing (normalising and
stemming every word) is what limits a rebuild, and it parallelises cleanly by post.

Workers are spawned, not forked: the parent may already run tantivy's writer threads.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from tawthiq.index.documents import IndexDoc, doc_from_post

# (post document, capture date, near-duplicate cluster, text read in its images)
Item = tuple[dict[str, Any], str, str | None, str]


Encoder = Callable[[IndexDoc], Any]


def _analyse_chunk(job: tuple[Encoder, list[Item]]) -> list[Any]:
    encode, chunk = job
    return [encode(doc_from_post(post, captured, cluster=cluster, image_text=image_text))
            for post, captured, cluster, image_text in chunk]


def _chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def analysed(items: Iterable[Item], encode: Encoder, *, workers: int | None = None,
             chunk: int = 1000) -> Iterator[Any]:
    """`encode(document)` for each (post, captured, cluster, image text), in input order (a newer capture must
    still come after an older one). `encode` is a backend's module-level function, so the
    backend-specific encoding runs on the workers too."""
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers <= 1:
        yield from (encode(doc_from_post(post, captured, cluster=cluster, image_text=image_text))
                    for post, captured, cluster, image_text in items)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        for done in pool.imap(_analyse_chunk, ((encode, c) for c in _chunks(items, chunk))):
            yield from done
