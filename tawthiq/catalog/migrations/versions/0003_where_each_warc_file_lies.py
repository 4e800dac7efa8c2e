"""Where each WARC file lies ("WORKER:/abs/path"): with several capture workers the catalog is
the one place that knows every file's machine and path.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("warc_files") as batch_op:  # batch: SQLite rebuilds the table
        batch_op.add_column(sa.Column("location", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("warc_files") as batch_op:
        batch_op.drop_column("location")
