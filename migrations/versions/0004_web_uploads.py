"""web uploads

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 21:33:11.612497
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes


revision: str = '0004'
down_revision: Union[str, None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('upload_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('stored_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('source_kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('agency', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
    sa.Column('fiscal_years', sa.JSON(), nullable=True),
    sa.Column('phase', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('preview', sa.JSON(), nullable=True),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("phase IN ('preview', 'commit')", name=op.f('ck_upload_job_phase')),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_upload_job_state')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_upload_job_country_code_country')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_upload_job_submission_id_submission')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_upload_job_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload_job'))
    )
    with op.batch_alter_table('upload_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_job_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('upload_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_job_user_id'))

    op.drop_table('upload_job')
