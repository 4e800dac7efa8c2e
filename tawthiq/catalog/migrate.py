"""Bring a catalog's schema up to date, in place, on SQLite or PostgreSQL (Alembic).

Catalogs created before migrations existed have every table but no `alembic_version`: they are
stamped with the first revision (the schema they were made with) and then upgraded. Several
processes may open a fresh catalog at once (the scheduler and a capture): the loser of the race
to create the tables waits and finds them done.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).parent / "migrations"
FIRST = "0001"


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head() or FIRST


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


_done: set[str] = set()  # catalogs this process has brought up to date


def upgrade(engine: Engine) -> None:
    """Once per process and catalog: a web server or a capture opens the catalog many times."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _done:
        return
    _upgrade(engine)
    _done.add(key)


def _upgrade(engine: Engine) -> None:
    cfg = _config()
    for attempt in range(5):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":  # one migrator at a time
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727374)")
                cfg.attributes["connection"] = conn
                tables = set(inspect(conn).get_table_names())
                if "posts" in tables and "alembic_version" not in tables:
                    command.stamp(cfg, FIRST)
                command.upgrade(cfg, "head")
            return
        except DBAPIError as exc:
            if attempt == 4 or "already exists" not in str(exc) and "locked" not in str(exc):
                raise
            time.sleep(0.5 * (attempt + 1))
