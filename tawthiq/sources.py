"""What to watch and how often: `DATA_DIR/sources.yaml`, validated by pydantic.

A bad file is reported with the line and field that are wrong, because archivists edit this
file by hand. For the same reason a change made with the CLI or the web app keeps the file's
comments and layout (ruamel.yaml round trip) and touches only the source it changes. Each change
reads, edits and rewrites the file under an exclusive lock (`.sources.yaml.lock`), so the CLI and
the web app never lose each other's writes, and atomically (temporary file, then rename) so a
crash never leaves half a file.
"""

from __future__ import annotations

import fcntl
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tawthiq.errors import ConfigError, NotFound, UserError
from tawthiq.specs import SpecError, parse_spec

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class SourcesError(UserError, ValueError):
    """sources.yaml or a sources command is wrong; the message names the line and field."""


class SourceNotFound(NotFound, SourcesError):
    """No source has that name."""


class SourcesFileError(ConfigError, SourcesError):
    """sources.yaml itself cannot be read: the operator's file, not the request, is wrong."""


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 6h, 1d")
    value = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if value.total_seconds() < 1:
        raise ValueError("a schedule must be at least 1s")
    return value


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    spec: str
    every: str | None = None
    cron: str | None = None
    collection: str | None = None
    keywords: list[str] = Field(default_factory=list)
    paused: bool = False
    # Why the source is paused when tawthiq paused it (a capture found the login profile logged out).
    paused_reason: str | None = None
    recheck_every: str | None = None
    # Browser capture of this source's pages: the login profile its runs use (made by
    # `tawthiq browser login NAME`), and what on a page means that profile is logged out.
    browser_profile: str | None = None
    browser_logged_out_marker: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '_', '-' or '.' (up to 64)")
        return value

    @field_validator("browser_profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if value is not None and not _NAME.match(value):
            raise ValueError("a profile name uses letters, digits, '_', '-' or '.' (up to 64)")
        return value

    @field_validator("spec")
    @classmethod
    def _spec(cls, value: str) -> str:
        try:
            parse_spec(value)
        except SpecError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("every", "recheck_every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            CronTrigger.from_crontab(value)
        return value

    @model_validator(mode="after")
    def _one_schedule(self) -> "Source":
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one of 'every' (e.g. 30m) or 'cron' (e.g. \"0 */6 * * *\")")
        return self


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sources: list[Source] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> "SourcesFile":
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}")
            seen.add(source.name)
        return self

    def get(self, name: str) -> Source:
        for source in self.sources:
            if source.name == name:
                return source
        raise SourceNotFound(f"no source named {name!r} (see `tawthiq sources list`)")


def _line_of(node: Any, loc: tuple) -> int | None:
    """The 1-based line of the YAML node a pydantic error location points at."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def sources_path(home: Path) -> Path:
    return Path(home) / "sources.yaml"


HEADER = "# tawthiq sources: what to capture and how often (edit by hand or with `tawthiq sources`)\n"


def _read_text(path: Path) -> str:
    """The file as text; a file saved in another encoding is named, with where it goes wrong."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SourcesFileError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                           f"save it as UTF-8") from None


def load_sources(home: Path) -> SourcesFile:
    path = sources_path(home)
    if not path.exists():
        return SourcesFile()
    return _parse(path, _read_text(path))


def _parse(path: Path, text: str) -> SourcesFile:
    try:
        data = yaml.safe_load(text) or {}
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "somewhere"
        raise SourcesFileError(f"{path}: not valid YAML at {where}: {getattr(exc, 'problem', exc)}") from None
    try:
        return SourcesFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of(node, loc)
        field = ".".join(str(p) for p in loc) or "sources"
        msg = err["msg"].removeprefix("Value error, ")
        raise SourcesFileError(f"{path}: line {line}: {field}: {msg}") from None


def _yaml() -> YAML:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096  # never fold a long spec or cron line
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def _as_item(source: Source) -> CommentedMap:
    """A source as the file writes it: only the fields that say something."""
    item = CommentedMap()
    for key, value in source.model_dump(exclude_none=True).items():
        if key == "keywords" and not value or key == "paused" and not value:
            continue
        item[key] = value
    return item


@contextmanager
def _editing(home: Path) -> Iterator[tuple[SourcesFile, Any]]:
    """Under the lock: the validated sources and the file's round-trip tree; whatever the caller
    changes in the tree is validated again and written back, comments and all."""
    path = sources_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / ".sources.yaml.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            text = _read_text(path) if path.exists() else ""
            current = _parse(path, text) if text.strip() else SourcesFile()
            tree = _yaml().load(text) if text.strip() else None
            if not isinstance(tree, CommentedMap):
                tree = CommentedMap()
            if not isinstance(tree.get("sources"), CommentedSeq):
                tree["sources"] = CommentedSeq()
            yield current, tree
            out = io.StringIO()
            if not text.strip():
                out.write(HEADER)
            _yaml().dump(tree, out)
            _parse(path, out.getvalue())  # what is written reads back as valid
            _write_atomically(path, out.getvalue())
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_sources(home: Path, sources: SourcesFile) -> None:
    """Write the whole list (sources not in it are dropped; comments of the ones kept stay)."""
    with _editing(home) as (_current, tree):
        by_name = {item.get("name"): item for item in tree["sources"] if isinstance(item, dict)}
        tree["sources"][:] = [by_name.get(s.name) or _as_item(s) for s in sources.sources]


def _index_of(tree: Any, name: str) -> int:
    for i, item in enumerate(tree["sources"]):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    raise SourceNotFound(f"no source named {name!r} (see `tawthiq sources list`)")


# -- the operations the CLI and the web app share ---------------------------------------------------
def add_source(home: Path, **fields: Any) -> Source:
    """Validate and append a source; SourcesError names the field that is wrong."""
    try:
        source = Source(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "source"
        raise SourcesError(f"{field}: {err['msg'].removeprefix('Value error, ')}") from None
    with _editing(home) as (current, tree):
        if any(s.name == source.name for s in current.sources):
            raise SourcesError(f"a source named {source.name!r} exists already (remove it first, or pick another name)")
        tree["sources"].append(_as_item(source))
    return source


def set_paused(home: Path, name: str, paused: bool, reason: str | None = None) -> Source:
    """Pause or resume a source. `reason`: why tawthiq paused it, kept in the file beside
    `paused` so `sources list` and the web app can say it; any earlier reason goes on resume
    (and on a pause by hand, which needs none)."""
    with _editing(home) as (current, tree):
        source = current.get(name)
        source.paused = paused
        source.paused_reason = reason if paused else None
        item = tree["sources"][_index_of(tree, name)]
        if paused:
            item["paused"] = True
        else:
            item.pop("paused", None)
        if paused and reason:
            item["paused_reason"] = reason
        else:
            item.pop("paused_reason", None)
    return source


def remove_source(home: Path, name: str) -> Source:
    with _editing(home) as (current, tree):
        source = current.get(name)
        del tree["sources"][_index_of(tree, name)]
    return source


def capture_args(home: Path, name: str) -> list[str] | None:
    """The `tawthiq capture` arguments for a source, read fresh from sources.yaml (for the scheduler
    and for queue workers alike: here, so neither imports the other)."""
    try:
        source = load_sources(home).get(name)
    except SourcesError as exc:
        logging.getLogger("tawthiq.daemon").error("cannot run %s: %s", name, exc)
        return None
    args = ["capture", source.spec, "--source", source.name]
    if source.collection:
        args += ["--collection", source.collection]
    if source.keywords:
        args += ["--keywords", ",".join(source.keywords)]
    if source.browser_profile:
        args += ["--set", f"browser_profile={source.browser_profile}"]
    if source.browser_logged_out_marker:
        args += ["--set", f"browser_logged_out_marker={source.browser_logged_out_marker}"]
    return args
