"""Settings: `config/defaults.toml`, then a user file, then `TAWTHIQ_*` variables, then CLI options.

The defaults file is the single place the shared defaults live (no second copy in code), so an
archivist reads one file to know what a capture will do. A platform's own settings (a base URL,
a page limit) live with their defaults in the platform's folder (its `Options`), and are set the
same way: `telegram_max_pages = 5` in tawthiq.toml, or TAWTHIQ_TELEGRAM_MAX_PAGES.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Literal, Any, ClassVar

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tawthiq.errors import ConfigError
from tawthiq.crawlers.platforms import option_models

# config/ is the package data `tawthiq.config`: beside this file in a checkout (a link to the top-level
# folder) and in an installed wheel alike, so the defaults are found however tawthiq was installed.
CONFIG_DIR = Path(__file__).parent / "config"
DEFAULTS_FILE = CONFIG_DIR / "defaults.toml"
DEFAULT_HOME = Path("./tawthiq-data")


class SettingsError(ConfigError, ValueError):
    """A settings file or variable is wrong; the message names which and why."""


class Settings(*option_models(), BaseSettings):  # type: ignore[misc]  # the platforms' settings
    model_config = SettingsConfigDict(env_prefix="TAWTHIQ_", extra="forbid")

    home: Path = Field(default=DEFAULT_HOME, description="data directory")
    collection: str
    operator: str
    user_agent: str
    warc_prefix: str
    warc_max_size: int = Field(gt=0)
    max_response_size: int = Field(ge=0)
    concurrent_requests: int = Field(gt=0)
    concurrent_requests_per_domain: int = Field(gt=0)
    download_delay: float = Field(ge=0)
    download_timeout: int = Field(gt=0)
    retry_times: int = Field(ge=0)
    rate_limit_max_wait: float = Field(ge=0)
    rate_limit_tries: int = Field(ge=0)
    obey_robots_txt: bool
    fetch_media: bool
    fetch_videos: bool
    fetch_requisites: bool
    requisites_per_page: int = Field(ge=0)
    requisite_max_size: int = Field(ge=0)
    log_level: str
    video_max_height: int = Field(ge=0)
    video_max_filesize: int = Field(ge=0)
    video_retries: int = Field(ge=0)
    video_rate_limit: int = Field(ge=0)
    video_cookies_file: str
    archive_credentials: bool
    allow_private_targets: bool
    video_time_limit: float = Field(ge=0)
    video_domains: list[str]
    tsa_url: str
    tsa_certificate: str
    search_backend: Literal["tantivy", "elasticsearch"]
    elasticsearch_url: str = Field(repr=False)  # may hold user:password@
    elasticsearch_index: str
    elasticsearch_api_key: str = Field(repr=False)
    elasticsearch_username: str
    elasticsearch_password: str = Field(repr=False)
    elasticsearch_ca_file: str
    elasticsearch_verify_certs: bool
    elasticsearch_timeout: float = Field(gt=0)
    index_batch: int = Field(gt=0)
    token: str = Field(repr=False)
    public_read: bool
    max_upload_size: int = Field(gt=0)
    max_export_size: int = Field(gt=0)
    session_max_age: int = Field(gt=0)
    login_attempts: int = Field(gt=0)
    login_window: int = Field(gt=0)
    database_url: str = Field(repr=False)
    redis_url: str = Field(repr=False)
    lease_seconds: float = Field(gt=1)
    worker_id: str
    blur_media: bool
    replay_origin: str
    replay_port: int = Field(ge=0, lt=65536)
    replay_viewer_dir: str
    dedupe: bool
    dedupe_max_pixels: int = Field(gt=0)
    dedupe_shared_warcs: list[str]
    ocr: bool
    ocr_mode: Literal["inline", "after"]
    ocr_workers: int = Field(gt=0)
    ocr_timeout: float = Field(gt=0)
    ocr_max_pixels: int = Field(gt=0)
    text_dedupe: bool
    text_dedupe_threshold: float = Field(gt=0, le=1)
    text_dedupe_min_words: int = Field(ge=1)
    text_dedupe_shingle: int = Field(ge=1, le=5)

    _files: ClassVar[tuple[Path, ...]] = (DEFAULTS_FILE,)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=list(cls._files))
        return (init_settings, env_settings, toml)

    @property
    def warcs_dir(self) -> Path:
        return self.home / "warcs"

    @property
    def exports_dir(self) -> Path:
        return self.home / "exports"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.sqlite"

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.catalog_path}"

    @property
    def has_catalog(self) -> bool:
        """Whether anything has been catalogued yet (a PostgreSQL catalog always exists)."""
        return bool(self.database_url) or self.catalog_path.exists()


# TAWTHIQ_* variables read outside the Settings fields (where the data lives, which file, the
# web server's log level).
OTHER_VARIABLES = ("TAWTHIQ_HOME", "TAWTHIQ_CONFIG", "TAWTHIQ_WEB_LOG")


def check_variables(environ: dict[str, str] | None = None) -> None:
    """Refuse a TAWTHIQ_* variable that names no setting. A misspelling was silently ignored, so
    `TAWTHIQ_TOKN=...` left the web app open and `TAWTHIQ_OBEY_ROBOTS=false` still obeyed robots.txt;
    the error names the closest real variable."""
    environ = os.environ if environ is None else environ
    known = {f"TAWTHIQ_{name.upper()}" for name in Settings.model_fields} | set(OTHER_VARIABLES)
    for name in sorted(environ):
        if name.upper().startswith("TAWTHIQ_") and name.upper() not in known:
            close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else "; see config/defaults.toml for the settings"
            raise SettingsError(f"unknown variable {name}{hint}")


def load_settings(home: Path | None = None, config: Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings; `home` and `config` come from the CLI when given."""
    check_variables()
    home = home or Path(os.environ.get("TAWTHIQ_HOME") or DEFAULT_HOME)
    files: list[Path] = [DEFAULTS_FILE]
    config = config or (Path(os.environ["TAWTHIQ_CONFIG"]) if os.environ.get("TAWTHIQ_CONFIG") else None)
    if config is not None:
        if not config.is_file():
            raise SettingsError(f"settings file not found: {config}")
        files.append(config)
    elif (home / "tawthiq.toml").is_file():
        files.append(home / "tawthiq.toml")

    class _Resolved(Settings):
        _files: ClassVar[tuple[Path, ...]] = tuple(files)

    try:
        resolved = _Resolved(home=home, **{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise SettingsError(
            f"bad setting {where!r} ({first['msg']}); read from {', '.join(map(str, files))} "
            f"and TAWTHIQ_* variables"
        ) from None
    except Exception as exc:  # a TOML syntax error names the file and line
        raise SettingsError(f"cannot read settings: {exc}") from None
    return resolved
