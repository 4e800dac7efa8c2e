"""Takedown tracking: revisit the archived posts of a source and record what became of them."""

from __future__ import annotations

from typing import Any

from tawthiq.errors import NotFound
from tawthiq.catalog import Catalog
from tawthiq.crawlers.platforms import all_platforms, platform
from tawthiq.settings import Settings
from tawthiq.specs import Target


class NothingToCheck(NotFound, ValueError):
    """The source has no archived posts to revisit."""


def recheck_crawls(settings: Settings, target: Target) -> list[tuple[type, dict[str, Any]]]:
    """The crawl that revisits every archived post of a source (run it with run_capture); each
    post's platform says where to look and what "gone" looks like."""
    from tawthiq.crawlers.recheck import PostToCheck, RecheckSpider

    if not platform(target.kind).has_posts:
        with_posts = ", ".join(p.name for p in all_platforms() if p.has_posts)
        raise NothingToCheck(f"{target.label}: a {target.kind} source has no posts to recheck "
                             f"(sources that do: {with_posts})")
    if not settings.has_catalog:
        raise NothingToCheck(f"{target.label}: nothing archived yet in {settings.home}")
    catalog = Catalog(settings.catalog_url)
    posts = [PostToCheck(p.platform, p.post_id, p.url, p.text or "", p.source)
             for p in catalog.posts_of(target.kind, target.value)]
    catalog.close()
    if not posts:
        raise NothingToCheck(f"{target.label}: no archived posts yet; capture it first")
    return [(RecheckSpider, {"posts": posts, "settings": settings})]
