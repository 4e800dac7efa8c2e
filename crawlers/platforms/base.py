"""What a platform is: the one class each platform folder subclasses (in the spirit of yt-dlp's
extractors), and the small values the glue exchanges with it.

A platform answers five questions, and nothing outside its folder needs to know the answers:
  - does this capture spec name something of mine (`claim`), and how is it written back (`label`)?
  - which crawls or fetches capture it (`plan`), starting from what the catalog already holds?
  - where is the source on the web (`source_url`)?
  - how is an archived post revisited, and what does "gone" look like (`check_url`, `check_state`)?
  - what settings does it read, with which defaults (`Options`)?
Its samples (`SAMPLES`: responses in the real format) are parsed by the shared platform test, so
a change of the platform's format shows up as a failing sample, as yt-dlp's `_TESTS` do for
extractors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from tawthiq.errors import UserError
from tawthiq.crawlers.models import Post


class SpecError(UserError, ValueError):
    """A capture spec we cannot understand; the message shows the accepted forms."""


@dataclass(frozen=True)
class Target:
    """One thing to capture, as a platform understood it: `kind` is the platform's name."""

    kind: str
    value: str  # what the platform needs: a URL, a channel name, a handle
    spec: str  # as the user wrote it

    @property
    def label(self) -> str:
        """The canonical spec: the source's key in the catalog, the schedule and watermarks."""
        from tawthiq.crawlers.platforms import platform

        return platform(self.kind).label(self.value)


@dataclass(frozen=True)
class SpiderJob:
    """A Scrapy crawl: the spider class and its keyword arguments."""

    spider: type
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class FetchJob:
    """A capture outside Scrapy (yt-dlp, a browser), by the fetcher registered under `fetcher`."""

    fetcher: str
    url: str
    post_url: str | None = None
    source: str | None = None  # the spec label its posts belong to (None: the URL itself)


Job = SpiderJob | FetchJob


class CatalogView(Protocol):
    """What a platform may ask of the catalog when it plans a capture (read-only)."""

    def watermark(self, spec: str) -> tuple[str | None, str | None]: ...

    def known_post_ids(self, platform: str, source: str) -> set[str]: ...


@dataclass
class PostToCheck:
    """An archived post to revisit."""

    platform: str
    post_id: str
    url: str
    text: str
    source: str = ""


CheckState = Literal["online", "changed", "gone", "error"]


@dataclass(frozen=True)
class Sample:
    """A response in the platform's real format (saved, or synthetic and written to follow saved
    ones: names of real people do not belong in the repository) and what its parser must make of it.

    `file` lies in the platform folder's `samples/`; `format` says which real format and version it
    follows (and where it was saved from); `url` is where it was served; `count` is the number of
    posts; `expect` describes the first posts, in order, one dict each, compared with the post's
    JSON form (`model_dump(mode="json")`, so datetimes are ISO strings):
      - `FIELD: value`: equal; a dict value matches the keys it names (`{"site_name": "X"}`), a
        list value matches element by element and in length (`"media": [{"kind": "photo"}]`);
      - `FIELD_contains: value`: a snippet of a text field, or one element of a list field.
    A name that is no field of Post is itself a mismatch, so a typo cannot pass silently."""

    file: str
    format: str
    url: str
    count: int
    expect: list[dict[str, Any]] = field(default_factory=list)

    def mismatches(self, posts: list[Post]) -> list[str]:
        """What the parsed `posts` get wrong, one line each (empty: the sample holds)."""
        problems = [] if len(posts) == self.count else [f"{len(posts)} posts, expected {self.count}"]
        if len(self.expect) > len(posts):
            problems.append(f"expectations for {len(self.expect)} posts, only {len(posts)} parsed")
        for index, (expected, post) in enumerate(zip(self.expect, posts)):
            actual = post.model_dump(mode="json")
            for key, want in expected.items():
                name, contains = (key[: -len("_contains")], True) if key.endswith("_contains") else (key, False)
                where = f"post {index} ({actual.get('post_id')}) {key}"
                if name not in actual:
                    problems.append(f"{where}: Post has no field {name!r}")
                elif contains:
                    if not _contains(actual[name], want):
                        problems.append(f"{where}: {want!r} not in {actual[name]!r}")
                else:
                    problems.extend(f"{where}{detail}" for detail in _differences(actual[name], want))
        return problems


def _contains(value: Any, part: Any) -> bool:
    if isinstance(value, str):
        return isinstance(part, str) and part in value
    return isinstance(value, list) and part in value


def _differences(actual: Any, want: Any, path: str = "") -> list[str]:
    """Where `actual` departs from `want` (dicts: only the keys `want` names)."""
    if isinstance(want, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r}, expected an object like {want!r}"]
        return [d for k, v in want.items()
                for d in (_differences(actual[k], v, f"{path}.{k}") if k in actual else [f"{path}.{k}: missing"])]
    if isinstance(want, list):
        if not isinstance(actual, list) or len(actual) != len(want):
            return [f"{path}: {actual!r}, expected {len(want)} items like {want!r}"]
        return [d for i, (a, w) in enumerate(zip(actual, want)) for d in _differences(a, w, f"{path}[{i}]")]
    return [] if actual == want else [f"{path}: {actual!r}, expected {want!r}"]


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Platform:
    """Subclass in `crawlers/platforms/NAME/__init__.py` as `PLATFORM = MyPlatform()`, and list NAME
    in the registry (crawlers/platforms/__init__.py)."""

    name: ClassVar[str]
    # How users write it, for help texts and errors: ("mastodon:@USER@INSTANCE", ...).
    forms: ClassVar[tuple[str, ...]]
    # Concrete specs, at least one per form ("mastodon:@someone@example.social"): the shared
    # platform test checks that each is claimed by this platform and that its label reads back.
    EXAMPLES: ClassVar[tuple[str, ...]] = ()
    # Settings the platform reads (flat names prefixed with the platform's name, so they read as
    # `TAWTHIQ_MASTODON_MAX_PAGES` or `mastodon_max_pages = 5` in tawthiq.toml), with defaults.
    Options: ClassVar[type[BaseModel]] = NoOptions
    # Whether captures yield posts that search, export and recheck can work with.
    has_posts: ClassVar[bool] = True
    SAMPLES: ClassVar[tuple[Sample, ...]] = ()

    # -- specs ---------------------------------------------------------------------------------
    def claim(self, spec: str, settings: Any) -> str | None:
        """The target's value when `spec` (stripped) names something of this platform, else None.
        Raise SpecError when it is this platform's form but malformed. `settings` may be None."""
        raise NotImplementedError

    def label(self, value: str) -> str:
        return f"{self.name}:{value}"

    def source_url(self, value: str, settings: Any) -> str:
        return value

    # -- capture -------------------------------------------------------------------------------
    def plan(self, target: Target, settings: Any, catalog: CatalogView) -> list[Job]:
        """The crawls and fetches that capture `target` (incrementally, from what `catalog` holds)."""
        raise NotImplementedError

    # -- takedown tracking ---------------------------------------------------------------------
    def check_url(self, post: PostToCheck, settings: Any) -> str:
        """Where to look to learn whether `post` is still online."""
        return post.url

    def check_state(self, post: PostToCheck, status: int, body: bytes, text: str | None) -> tuple[CheckState, str | None]:
        """The verdict from the answer to `check_url` (`text` is None when it was not text)."""
        if status in (404, 410):
            return "gone", f"HTTP {status}"
        if status >= 400:
            return "error", f"HTTP {status}"
        return "online", None

    # -- samples -------------------------------------------------------------------------------
    def parse_sample(self, body: bytes, url: str) -> list[Post]:
        """Parse one saved response the way a capture would (for SAMPLES)."""
        raise NotImplementedError

    @property
    def folder(self) -> Path:
        import sys

        return Path(sys.modules[type(self).__module__].__file__ or ".").parent

    # -- settings ------------------------------------------------------------------------------
    def options(self, settings: Any) -> Any:
        """This platform's settings out of the resolved Settings (defaults when `settings` is None)."""
        if settings is None:
            return self.Options()
        return self.Options.model_validate({name: getattr(settings, name) for name in self.Options.model_fields})


def is_http(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def prefixed(spec: str, prefix: str) -> str | None:
    """The rest of `spec` after `PREFIX:` (case-insensitive prefix), else None."""
    head, sep, rest = spec.partition(":")
    return rest.strip() if sep and head.lower() == prefix else None


def text_hash(text: str) -> str:
    """A post's text compared across captures: whitespace differences are not changes."""
    import hashlib

    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()


def resume_point(value: str | None) -> tuple[int | None, int | None]:
    """(before, newest) from a stored resume point "BEFORE:NEWEST": a walk cut short read everything
    from NEWEST down to BEFORE, so a later walk may jump to BEFORE once it meets NEWEST itself. An old
    bare "BEFORE" has no anchor and is never jumped to (the walk reads down through what is archived
    instead: slower, never a gap)."""
    before, _, anchor = (value or "").partition(":")
    if not (before.isdigit() and anchor.isdigit()):
        return None, None
    return int(before), int(anchor)
