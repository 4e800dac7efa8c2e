"""Text read in images by OCR (issue 16): one row per "ocr" metadata record.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_texts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("image_record_id", sa.String(), nullable=False),
        sa.Column("metadata_record_id", sa.String(), nullable=False, unique=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("engine", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_image_texts_sha256", "image_texts", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_image_texts_sha256", table_name="image_texts")
    op.drop_table("image_texts")
