"""The catalog as of tawthiq 0.1 (issues 2-7): catalogs made before migrations existed are
stamped with this revision when first opened, then upgraded.

Revision ID: 0001
Revises: 
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('capture_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(), nullable=False),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('collection', sa.String(), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('source', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('at', sa.String(), nullable=False),
    sa.Column('metadata_record_id', sa.String(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('metadata_record_id')
    )
    op.create_table('media',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(), nullable=False),
    sa.Column('sha256', sa.String(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('mime', sa.String(), nullable=False),
    sa.Column('duration', sa.Double(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('codec', sa.String(), nullable=True),
    sa.Column('audio_codec', sa.String(), nullable=True),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('source_url', sa.Text(), nullable=False),
    sa.Column('page_url', sa.Text(), nullable=True),
    sa.Column('post_url', sa.Text(), nullable=True),
    sa.Column('warc_file', sa.String(), nullable=False),
    sa.Column('warc_offset', sa.BigInteger(), nullable=False),
    sa.Column('warc_length', sa.BigInteger(), nullable=False),
    sa.Column('revisit_of', sa.String(), nullable=True),
    sa.Column('info_record_id', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_id')
    )
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.create_index('ix_media_post', ['post_url'], unique=False)
        batch_op.create_index('ix_media_sha256', ['sha256'], unique=False)

    op.create_table('post_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(), nullable=False),
    sa.Column('post_id', sa.String(), nullable=False),
    sa.Column('checked', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('check_url', sa.Text(), nullable=False),
    sa.Column('evidence_record_id', sa.String(), nullable=True),
    sa.Column('metadata_record_id', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('metadata_record_id')
    )
    with op.batch_alter_table('post_checks', schema=None) as batch_op:
        batch_op.create_index('ix_post_checks_post', ['platform', 'post_id'], unique=False)

    op.create_table('posts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(), nullable=False),
    sa.Column('post_id', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('author', sa.String(), nullable=True),
    sa.Column('published', sa.DateTime(timezone=True), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('language', sa.String(), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('content_sha256', sa.String(), nullable=False),
    sa.Column('first_captured', sa.String(), nullable=False),
    sa.Column('last_captured', sa.String(), nullable=False),
    sa.Column('captures', sa.Integer(), nullable=False),
    sa.Column('warc_file', sa.String(), nullable=True),
    sa.Column('warc_offset', sa.BigInteger(), nullable=True),
    sa.Column('warc_length', sa.BigInteger(), nullable=True),
    sa.Column('metadata_record_id', sa.String(), nullable=False),
    sa.Column('indexed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('platform', 'post_id', name='uq_posts_platform_post')
    )
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_source', ['platform', 'source'], unique=False)

    op.create_table('records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.String(), nullable=False),
    sa.Column('rec_type', sa.String(), nullable=False),
    sa.Column('uri', sa.Text(), nullable=False),
    sa.Column('date', sa.String(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('mime', sa.String(), nullable=True),
    sa.Column('payload_digest', sa.String(), nullable=True),
    sa.Column('refers_to', sa.String(), nullable=True),
    sa.Column('concurrent_to', sa.String(), nullable=True),
    sa.Column('truncated', sa.String(), nullable=True),
    sa.Column('file', sa.String(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_id')
    )
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.create_index('ix_records_concurrent_to', ['concurrent_to'], unique=False)
        batch_op.create_index('ix_records_digest', ['payload_digest'], unique=False)
        batch_op.create_index('ix_records_file_offset', ['file', 'offset'], unique=False)
        batch_op.create_index('ix_records_refers_to', ['refers_to'], unique=False)
        batch_op.create_index('ix_records_uri', ['uri'], unique=False)

    op.create_table('sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('spec', sa.String(), nullable=False),
    sa.Column('platform', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('url', sa.String(), nullable=False),
    sa.Column('collection', sa.String(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_run_id', sa.Integer(), nullable=True),
    sa.Column('complete_through', sa.String(), nullable=True),
    sa.Column('resume_before', sa.String(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('spec')
    )
    op.create_table('post_captures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('post', sa.Integer(), nullable=False),
    sa.Column('captured', sa.String(), nullable=False),
    sa.Column('content_sha256', sa.String(), nullable=False),
    sa.Column('metadata_record_id', sa.String(), nullable=False),
    sa.Column('warc_file', sa.String(), nullable=True),
    sa.Column('warc_offset', sa.BigInteger(), nullable=True),
    sa.Column('warc_length', sa.BigInteger(), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['post'], ['posts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('metadata_record_id')
    )
    op.create_table('warc_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(), nullable=True),
    sa.Column('sealed', sa.Boolean(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('recovered', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['capture_runs.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('warc_files')
    op.drop_table('post_captures')
    op.drop_table('sources')
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_index('ix_records_uri')
        batch_op.drop_index('ix_records_refers_to')
        batch_op.drop_index('ix_records_file_offset')
        batch_op.drop_index('ix_records_digest')
        batch_op.drop_index('ix_records_concurrent_to')

    op.drop_table('records')
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_source')

    op.drop_table('posts')
    with op.batch_alter_table('post_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_post_checks_post')

    op.drop_table('post_checks')
    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_index('ix_media_sha256')
        batch_op.drop_index('ix_media_post')

    op.drop_table('media')
    op.drop_table('failures')
    op.drop_table('capture_runs')
