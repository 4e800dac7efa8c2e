"""The platform registry: one folder per platform, named once here.

The spec parser, capture dispatch, settings, takedown tracking, the CLI's help and the web app's
"add source" form all read this list; nothing else names a platform. The order is the order in
which platforms are offered a spec: the first that claims it wins, and `web` (any http(s) URL)
comes last.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from pydantic import BaseModel

from tawthiq.crawlers.platforms.base import (
    FetchJob, Job, Platform, PostToCheck, Sample, SpecError, SpiderJob, Target,
)

__all__ = ["FetchJob", "Job", "Platform", "PostToCheck", "Sample", "SpecError", "SpiderJob", "Target",
           "all_platforms", "forms", "option_models", "parse_spec", "platform"]

NAMES: tuple[str, ...] = (
    "browser",  # first: `browser_domains` routes a host to the browser whatever else would claim it
    "telegram",
    "feed",
    "video",
    "bluesky",
    "mastodon",
    "web",  # last: it claims any http(s) URL
)


@cache
def all_platforms() -> tuple[Platform, ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}").PLATFORM for name in NAMES)


def platform(name: str) -> Platform:
    for candidate in all_platforms():
        if candidate.name == name:
            return candidate
    raise SpecError(f"unknown platform {name!r} (known: {', '.join(p.name for p in all_platforms())})")


def forms() -> str:
    """Every accepted spec form, for help texts and errors."""
    written = [form for p in all_platforms() for form in p.forms]
    return ", ".join(written[:-1]) + " or " + written[-1]


def option_models() -> tuple[type[BaseModel], ...]:
    """The platforms' settings models, which the Settings class is made of (besides its own)."""
    return tuple(p.Options for p in all_platforms() if p.Options.model_fields)


def parse_spec(spec: str, settings: Any = None) -> Target:
    """The platform target a capture spec names (`settings` for platforms whose base URL is set)."""
    raw = spec.strip()
    if not raw:
        raise SpecError(f"empty capture spec: use {forms()}")
    for candidate in all_platforms():
        value = candidate.claim(raw, settings)
        if value is not None:
            return Target(candidate.name, value, spec)
    raise SpecError(f"unknown capture spec {spec!r}: use {forms()}")
