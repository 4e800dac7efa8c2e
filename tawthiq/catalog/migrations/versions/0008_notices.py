"""Death notices read from image text (issue 16): one row per "ocr" record whose text reads as a
notice. Derived: rebuilt from the "ocr" records of the WARC files.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("image_record_id", sa.String(), nullable=False),
        sa.Column("ocr_record_id", sa.String(), nullable=False, unique=True),
        sa.Column("at", sa.String(), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=True),
        sa.Column("date_of_death", sa.String(), nullable=True),
        sa.Column("date_calendar", sa.String(), nullable=True),
        sa.Column("place", sa.Text(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("extractor", sa.String(), nullable=False),
    )
    op.create_index("ix_notices_sha256", "notices", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_notices_sha256", table_name="notices")
    op.drop_table("notices")
