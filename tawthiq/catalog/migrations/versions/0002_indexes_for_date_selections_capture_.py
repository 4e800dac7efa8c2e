"""Indexes for date selections, a post's capture history and collection exports (these queries
scanned whole tables).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_post_captures_post", "post_captures", ["post"])
    op.create_index("ix_post_captures_run", "post_captures", ["run_id"])
    op.create_index("ix_posts_published", "posts", ["published"])


def downgrade() -> None:
    op.drop_index("ix_posts_published", table_name="posts")
    op.drop_index("ix_post_captures_run", table_name="post_captures")
    op.drop_index("ix_post_captures_post", table_name="post_captures")
