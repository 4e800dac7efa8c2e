"""Takedown tracking: revisit the archived posts of a source and record what became of them."""

from __future__ import annotations

from typing import Any

from tawthiq.catalog import Catalog
from tawthiq.settings import Settings
from tawthiq.specs import Target


class NothingToCheck(ValueError):
    """The source has no archived posts to revisit (plain web pages are not posts)."""


def recheck_crawls(settings: Settings, target: Target) -> list[tuple[type, dict[str, Any]]]:
    """The crawl that revisits every archived post of a source (run it with run_capture)."""
    from tawthiq.crawlers.spiders.recheck import PostToCheck, RecheckSpider

    if target.kind not in ("telegram", "feed"):
        raise NothingToCheck(f"{target.label}: only Telegram channels and feeds have posts to recheck")
    if not settings.has_catalog:
        raise NothingToCheck(f"{target.label}: nothing archived yet in {settings.home}")
    catalog = Catalog(settings.catalog_url)
    posts = [PostToCheck(p.platform, p.post_id, p.url, p.text) for p in catalog.posts_of(target.kind, target.value)]
    catalog.close()
    if not posts:
        raise NothingToCheck(f"{target.label}: no archived posts yet; capture it first")
    return [(RecheckSpider, {"posts": posts})]
