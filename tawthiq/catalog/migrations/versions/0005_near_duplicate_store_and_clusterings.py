"""Near-duplicates across workers and reclustering (issue 18): where each item's bytes lie (so a
worker can verify against another's fresh item before the catalog has its media row), and
clustering versions (`tawthiq dedupe recluster`), the accepted one copied into near_duplicates.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("near_duplicates") as batch:
        batch.add_column(sa.Column("warc_file", sa.String(), nullable=True))
        batch.add_column(sa.Column("warc_offset", sa.BigInteger(), nullable=True))
    op.create_table(
        "near_duplicate_versions",
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("created", sa.String(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),  # proposed | accepted | superseded
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("clusters", sa.Integer(), nullable=False),
    )
    op.create_table(
        "near_duplicate_clusterings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("cluster", sa.String(), nullable=False),
        sa.Column("matched", sa.String(), nullable=True),
        sa.Column("method", sa.String(), nullable=True),
        sa.Column("distance", sa.Integer(), nullable=True),
        sa.UniqueConstraint("version", "sha256", name="uq_near_duplicate_clusterings_version_sha256"),
    )


def downgrade() -> None:
    op.drop_table("near_duplicate_clusterings")
    op.drop_table("near_duplicate_versions")
    with op.batch_alter_table("near_duplicates") as batch:
        batch.drop_column("warc_offset")
        batch.drop_column("warc_file")
