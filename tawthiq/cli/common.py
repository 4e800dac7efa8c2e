"""What several command modules share: the consoles and the `--set NAME=VALUE` parser.

Commands raise `tawthiq.errors` errors for mistakes; the one handler in `tawthiq.cli.run` prints
them and picks the exit status, so nothing here maps errors to codes."""

from __future__ import annotations

from tawthiq.display import capture_with_display, console, err, human_bytes, marked_snippet
from tawthiq.settings import Settings, SettingsError

__all__ = ["capture_with_display", "console", "err", "human_bytes", "marked_snippet", "setting_assignments",
           "words_of"]


def setting_assignments(pairs: list[str]) -> dict[str, str]:
    """`--set NAME=VALUE` options as setting overrides (validated with the rest by load_settings)."""
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip().lower().replace("-", "_")
        if not sep or not name:
            raise SettingsError(f"--set {pair!r}: write NAME=VALUE, e.g. --set depth_limit=1")
        if name not in Settings.model_fields or name in ("home", "token", "database_url", "redis_url"):
            raise SettingsError(f"--set {pair!r}: no setting {name!r} can be set for a run")
        out[name] = value
    return out


def words_of(keywords: str | None) -> list[str]:
    """A comma-separated `--keywords` option as a list of words."""
    return [k.strip() for k in (keywords or "").split(",") if k.strip()]
