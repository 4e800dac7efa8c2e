"""What users type: capture specs, and settings from every source in the right order."""

from __future__ import annotations

import re
from types import SimpleNamespace
from pathlib import Path

import pytest

from tawthiq.settings import SettingsError, load_settings
from tawthiq.specs import SpecError, parse_spec


@pytest.mark.parametrize("spec, kind, value", [
    ("telegram:mithal_witness", "telegram", "mithal_witness"),
    ("telegram:@mithal_witness", "telegram", "mithal_witness"),
    ("t.me/s/mithal_witness", "telegram", "mithal_witness"),
    ("https://t.me/s/mithal_witness", "telegram", "mithal_witness"),
    ("https://t.me/mithal_witness", "telegram", "mithal_witness"),
    ("http://127.0.0.1:8000/s/mithal_witness", "telegram", "mithal_witness"),  # the configured mirror
    ("feed:https://example.org/rss", "feed", "https://example.org/rss"),
    ("video:https://example.org/watch?v=1", "video", "https://example.org/watch?v=1"),
    ("https://example.org/page?a=1", "web", "https://example.org/page?a=1"),
])
def test_specs(spec: str, kind: str, value: str) -> None:
    mirror = SimpleNamespace(telegram_base_url="http://127.0.0.1:8000", telegram_max_pages=50)
    target = parse_spec(spec, mirror)
    assert (target.kind, target.value) == (kind, value)


@pytest.mark.parametrize("spec, message", [
    ("ftp://x", "unknown capture spec"),
    ("feed:not-a-url", "a feed needs an http(s) URL"),
    ("video:", "a video needs an http(s) URL"),
    ("telegram:a", "is not a Telegram channel name"),
    ("", "empty capture spec"),
])
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        parse_spec(spec)  # noqa: PT011


def test_settings_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("TAWTHIQ_")]:
        monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    assert load_settings(home).depth_limit == 2  # config/defaults.toml
    (home / "tawthiq.toml").write_text("depth_limit = 5\npage_limit = 7\n")
    assert load_settings(home).depth_limit == 5  # user file
    monkeypatch.setenv("TAWTHIQ_DEPTH_LIMIT", "9")
    settings = load_settings(home)
    assert (settings.depth_limit, settings.page_limit) == (9, 7)  # environment over the file
    assert load_settings(home, depth_limit=1).depth_limit == 1  # command line over everything
    assert settings.warcs_dir == home / "warcs" and settings.catalog_path == home / "catalog.sqlite"
    monkeypatch.setenv("TAWTHIQ_VIDEO_DOMAINS", '["example.org"]')
    assert load_settings(home).video_domains == ["example.org"]
    (home / "tawthiq.toml").write_text("no_such_setting = 1\n")
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(home)


def test_a_misspelled_variable_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    """A typo in a TAWTHIQ_* variable used to be ignored: TAWTHIQ_TOKN left the web app open."""
    from tests.conftest import run_tawthiq

    result = run_tawthiq(["warcs"], data_dir=tmp_path / "data", env={"TAWTHIQ_TOKN": "secret"})
    assert result.code == 2 and "Traceback" not in result.out + result.err
    lines = [ln for ln in result.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "TAWTHIQ_TOKN" in lines[0] and "did you mean TAWTHIQ_TOKEN?" in lines[0], lines
    lower = run_tawthiq(["warcs"], data_dir=tmp_path / "data", env={"tawthiq_obey_robots": "false"})
    assert lower.code == 2 and "TAWTHIQ_OBEY_ROBOTS_TXT" in lower.err
    # real variables, in any case, and the ones read outside the settings pass
    fine = run_tawthiq(["warcs"], data_dir=tmp_path / "data",
                       env={"TAWTHIQ_DEPTH_LIMIT": "3", "tawthiq_page_limit": "4", "TAWTHIQ_WEB_LOG": "warning"})
    assert "unknown variable" not in fine.err, fine.err
