"""The catalog on both engines: SQLite (the default) and PostgreSQL (TAWTHIQ_DATABASE_URL),
with Alembic migrations that upgrade an existing catalog in place. PostgreSQL runs from Debian's
package on 127.0.0.1 (installed by .ci/run); without it those tests are reported as skipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from tawthiq.catalog import migrate
from tests.conftest import Demo, run_tawthiq
from tests.local_postgres import pg_bin, postgres_server

needs_postgres = pytest.mark.skipif(pg_bin() is None, reason="PostgreSQL is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    if pg_bin() is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs it)")
    with postgres_server() as url:
        yield url


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A clean schema for each test."""
    engine = create_engine(pg_server)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield pg_server


def _make_old_catalog(url: str) -> None:
    """A catalog as tawthiq made it before migrations existed: the first revision's tables and
    no alembic_version table."""
    engine = create_engine(url)
    cfg = migrate._config()  # noqa: SLF001
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, migrate.FIRST)
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
               for t in ("posts", "records", "post_captures", "warc_files", "capture_runs")}
    engine.dispose()
    return out


def _upgraded_in_place(url: str, data_dir: Path, env: dict[str, str]) -> None:
    before = _counts(url)
    _make_old_catalog(url)
    engine = create_engine(url)
    assert "ix_posts_published" not in {i["name"] for i in inspect(engine).get_indexes("posts")}
    engine.dispose()
    result = run_tawthiq(["runs"], data_dir=data_dir, env=env)  # any command opens (and upgrades) it
    assert result.code == 0, result.out + result.err
    engine = create_engine(url)
    assert migrate.current(engine) == migrate.head()
    assert "ix_posts_published" in {i["name"] for i in inspect(engine).get_indexes("posts")}
    assert "ix_post_captures_post" in {i["name"] for i in inspect(engine).get_indexes("post_captures")}
    assert "location" in {c["name"] for c in inspect(engine).get_columns("warc_files")}
    engine.dispose()
    assert _counts(url) == before  # nothing lost


def test_sqlite_catalog_made_before_migrations_is_upgraded_in_place(demo: Demo, data_dir: Path) -> None:
    assert run_tawthiq(["capture", f"telegram:{demo.channel.name}"], data_dir=data_dir, env=demo.env).code == 0
    _upgraded_in_place(f"sqlite:///{data_dir / 'catalog.sqlite'}", data_dir, {})


@needs_postgres
def test_postgresql_catalog_is_upgraded_in_place(demo: Demo, data_dir: Path, pg_url: str) -> None:
    env = {**demo.env, "TAWTHIQ_DATABASE_URL": pg_url}
    assert run_tawthiq(["capture", f"feed:{demo.server.url('/feed.xml')}"], data_dir=data_dir, env=env).code == 0
    _upgraded_in_place(pg_url, data_dir, env)


@needs_postgres
def test_capture_search_export_and_rebuild_on_postgresql(demo: Demo, data_dir: Path, pg_url: str,
                                                          tmp_path: Path) -> None:
    env = {**demo.env, "TAWTHIQ_DATABASE_URL": pg_url}
    specs = [f"telegram:{demo.channel.name}", f"feed:{demo.server.url('/feed.xml')}"]
    result = run_tawthiq(["capture", *specs], data_dir=data_dir, env=env)
    assert result.code == 0, result.out + result.err
    assert not (data_dir / "catalog.sqlite").exists()  # everything went to PostgreSQL
    live = _counts(pg_url)
    assert live["posts"] == 29 and live["capture_runs"] == 1
    # a second capture finds nothing new (incremental state lives in the catalog)
    again = run_tawthiq(["capture", *specs], data_dir=data_dir, env=env)
    assert again.code == 0 and _counts(pg_url)["posts"] == 29
    live = _counts(pg_url)
    found = run_tawthiq(["search", "--json", "مستشفى"], data_dir=data_dir, env=env)
    assert found.code == 0 and '"total": ' in found.out
    out = tmp_path / "case.wacz"
    exported = run_tawthiq(["export", "--source", demo.channel.name, "-o", str(out)], data_dir=data_dir, env=env)
    assert exported.code == 0, exported.out + exported.err
    assert run_tawthiq(["verify", str(out)]).code == 3  # intact; unsigned (no key), so unproven
    assert run_tawthiq(["verify", str(data_dir)], env=env).code == 3  # a data directory is never signed
    # rebuilt from the WARC files alone into an empty PostgreSQL catalog
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    rebuilt = run_tawthiq(["reindex"], data_dir=data_dir, env=env)
    assert rebuilt.code == 0, rebuilt.out + rebuilt.err
    after = _counts(pg_url)
    assert after["posts"] == live["posts"] and after["records"] == live["records"]
    assert after["warc_files"] == live["warc_files"]
