"""Text near-duplicates: each post's text hash and text cluster (issue 16).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "text_duplicates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("post_id", sa.String(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.Column("words", sa.Integer(), nullable=False),
        sa.Column("cluster", sa.String(), nullable=False),
        sa.Column("matched", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("metadata_record_id", sa.String(), nullable=False),
        sa.Column("seen", sa.String(), nullable=False),
        sa.UniqueConstraint("platform", "post_id", name="uq_text_duplicates_post"),
    )
    op.create_index("ix_text_duplicates_cluster", "text_duplicates", ["cluster"])


def downgrade() -> None:
    op.drop_index("ix_text_duplicates_cluster", table_name="text_duplicates")
    op.drop_table("text_duplicates")
