"""obligation totals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 22:04:53.342749
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes


revision: str = '0005'
down_revision: Union[str, None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('obligation_total',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_obligation_total_country_code_country')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_obligation_total_office_id_office')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_obligation_total_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obligation_total'))
    )
    with op.batch_alter_table('obligation_total', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_total_block', ['country_code', 'fiscal_year'], unique=False)

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index('ix_obligation_block', ['country_code', 'fiscal_year'], unique=False)

    op.execute("INSERT INTO obligation_total (fiscal_year, office_id, country_code, program_id, status, records, amount) "
               "SELECT fiscal_year, office_id, country_code, program_id, status, count(*), sum(amount) "
               "FROM obligation WHERE current GROUP BY fiscal_year, office_id, country_code, program_id, status")



def downgrade() -> None:
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_block')

    with op.batch_alter_table('obligation_total', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_total_block')

    op.drop_table('obligation_total')
