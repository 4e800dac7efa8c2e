"""A notice row per video frame (issue 16 review): a video's "ocr" record can show several
notices (one per scene), so a notice is keyed by its record and the frame it was read from
(`frame`, 0 for an image) instead of its record alone. Rows already there are kept (frame 0);
`tawthiq reindex` splits a video's old mixed row into its frames' notices.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# SQLite's unique constraint of 0008 has no name: batch mode names it by this convention to drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique() -> str:
    return "notices_ocr_record_id_key" if op.get_bind().dialect.name == "postgresql" else "uq_notices_ocr_record_id"


def upgrade() -> None:
    with op.batch_alter_table("notices", naming_convention=NAMING) as batch:
        batch.add_column(sa.Column("frame", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint(_old_unique(), type_="unique")
        batch.create_unique_constraint("uq_notices_ocr_record_frame", ["ocr_record_id", "frame"])


def downgrade() -> None:
    op.execute("DELETE FROM notices WHERE frame <> 0")
    with op.batch_alter_table("notices", naming_convention=NAMING) as batch:
        batch.drop_constraint("uq_notices_ocr_record_frame", type_="unique")
        batch.drop_column("frame")
        batch.create_unique_constraint(_old_unique(), ["ocr_record_id"])
