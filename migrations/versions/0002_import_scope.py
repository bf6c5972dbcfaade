"""import: scope, current records, remembered column mappings

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 20:08:07.055183
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes


revision: str = '0002'
down_revision: Union[str, None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('column_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('header_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('field_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_column_mapping')),
    sa.UniqueConstraint('scope_key', 'header_key', name=op.f('uq_column_mapping_scope_key_header_key'))
    )
    with op.batch_alter_table('embassy_report_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index(batch_op.f('ix_embassy_report_row_current'), ['current'], unique=False)

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('current', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.drop_index(batch_op.f('ix_obligation_totals'))
        batch_op.create_index('ix_obligation_totals', ['current', 'fiscal_year', 'office_id', 'country_code', 'status', 'amount'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_current'), ['current'], unique=False)

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_key', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False,
                                      server_default=""))
        batch_op.drop_index(batch_op.f('ix_submission_sha256'))
        batch_op.create_index(batch_op.f('ix_submission_scope_key'), ['scope_key'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_submission_sha256'), ['sha256'])
    # Submissions stored before this revision: their scope from what they speak for.
    op.execute("UPDATE submission SET scope_key = 'embassy:' || country_code "
               "WHERE source_kind = 'embassy' AND country_code IS NOT NULL")
    op.execute("UPDATE submission SET scope_key = 'agency:' || (SELECT code FROM agency WHERE agency.id = submission.agency_id) "
               "WHERE source_kind = 'agency' AND agency_id IS NOT NULL")



def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_submission_sha256'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_submission_scope_key'))
        batch_op.create_index(batch_op.f('ix_submission_sha256'), ['sha256'], unique=False)
        batch_op.drop_column('scope_key')

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_obligation_current'))
        batch_op.drop_index('ix_obligation_totals')
        batch_op.create_index(batch_op.f('ix_obligation_totals'), ['fiscal_year', 'office_id', 'country_code', 'status', 'amount'], unique=False)
        batch_op.drop_column('current')
        batch_op.drop_column('office_text')

    with op.batch_alter_table('embassy_report_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embassy_report_row_current'))
        batch_op.drop_column('current')

    op.drop_table('column_mapping')
