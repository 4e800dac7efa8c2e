"""Alembic environment for the catalog: run in-process by `tawthiq.catalog.migrate` on the
connection it is given (no alembic.ini), on SQLite (batch mode) and PostgreSQL alike."""

from __future__ import annotations

from alembic import context

from tawthiq.catalog.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
