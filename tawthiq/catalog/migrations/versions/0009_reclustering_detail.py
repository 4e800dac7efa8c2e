"""Reclustering (issue 18): how each item matched in a proposed clustering (the evidence the
matcher gives, as in near_duplicates.detail), so accepting it keeps the why, not only the cluster.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("near_duplicate_clusterings") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("near_duplicate_clusterings") as batch:
        batch.drop_column("detail")
