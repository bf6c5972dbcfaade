"""reconcile: report matches, first reported

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 20:36:06.888981
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes


revision: str = '0003'
down_revision: Union[str, None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('report_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('embassy_row_id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_report_match_country_code_country')),
    sa.ForeignKeyConstraint(['embassy_row_id'], ['embassy_report_row.id'], name=op.f('fk_report_match_embassy_row_id_embassy_report_row')),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], name=op.f('fk_report_match_obligation_id_obligation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_match')),
    sa.UniqueConstraint('embassy_row_id', 'obligation_id', name=op.f('uq_report_match_embassy_row_id_obligation_id'))
    )
    with op.batch_alter_table('report_match', schema=None) as batch_op:
        batch_op.create_index('ix_report_match_country_year', ['country_code', 'fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_match_embassy_row_id'), ['embassy_row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_report_match_obligation_id'), ['obligation_id'], unique=False)

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_reported_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('records_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_column('records_hash')

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_column('first_reported_at')

    with op.batch_alter_table('report_match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_match_obligation_id'))
        batch_op.drop_index(batch_op.f('ix_report_match_embassy_row_id'))
        batch_op.drop_index('ix_report_match_country_year')

    op.drop_table('report_match')
