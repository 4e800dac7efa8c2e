"""Near-duplicate clusters: each media file's perceptual signature and cluster (issue 9).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "near_duplicates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(), nullable=False, unique=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("cluster", sa.String(), nullable=False),
        sa.Column("matched", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("media_record_id", sa.String(), nullable=False),
        sa.Column("seen", sa.String(), nullable=False),
    )
    op.create_index("ix_near_duplicates_cluster", "near_duplicates", ["cluster"])


def downgrade() -> None:
    op.drop_index("ix_near_duplicates_cluster", table_name="near_duplicates")
    op.drop_table("near_duplicates")
