"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 19:55:32.841169
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes


revision: str = '0001'
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('code', name=op.f('uq_agency_code'))
    )
    op.create_table('country',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('region', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('iso2', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True),
    sa.Column('post', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True),
    sa.CheckConstraint("kind IN ('country', 'region', 'global')", name=op.f('ck_country_kind')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_country'))
    )
    with op.batch_alter_table('country', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_country_region'), ['region'], unique=False)

    op.create_table('implementer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_implementer')),
    sa.UniqueConstraint('name', name=op.f('uq_implementer_name'))
    )
    op.create_table('program',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('ceiling', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('first_fiscal_year', sa.Integer(), nullable=True),
    sa.Column('last_fiscal_year', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program')),
    sa.UniqueConstraint('code', name=op.f('uq_program_code')),
    sa.UniqueConstraint('name', name=op.f('uq_program_name'))
    )
    op.create_table('agency_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_agency_alias_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_agency_alias_key'))
    )
    with op.batch_alter_table('agency_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_alias_agency_id'), ['agency_id'], unique=False)

    op.create_table('country_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_country_alias_country_code_country')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_country_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_country_alias_key'))
    )
    with op.batch_alter_table('country_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_country_alias_country_code'), ['country_code'], unique=False)

    op.create_table('implementer_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('implementer_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['implementer_id'], ['implementer.id'], name=op.f('fk_implementer_alias_implementer_id_implementer')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_implementer_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_implementer_alias_key'))
    )
    with op.batch_alter_table('implementer_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_implementer_alias_implementer_id'), ['implementer_id'], unique=False)

    op.create_table('office',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('office', 'bureau', 'mission', 'post', 'not_stated')", name=op.f('ck_office_kind')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_office_agency_id_agency')),
    sa.ForeignKeyConstraint(['parent_id'], ['office.id'], name=op.f('fk_office_parent_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office')),
    sa.UniqueConstraint('agency_id', 'code', name=op.f('uq_office_agency_id_code'))
    )
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_agency_id'), ['agency_id'], unique=False)

    op.create_table('program_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_program_alias_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_program_alias_key'))
    )
    with op.batch_alter_table('program_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_program_alias_program_id'), ['program_id'], unique=False)

    op.create_table('program_country',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_program_country_country_code_country')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_program_country_program_id_program')),
    sa.PrimaryKeyConstraint('program_id', 'country_code', name=op.f('pk_program_country'))
    )
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('full_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('admin', 'reviewer', 'embassy', 'agency', 'budget')", name=op.f('ck_app_user_role')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_app_user_agency_id_agency')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_app_user_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('username', name=op.f('uq_app_user_username'))
    )
    op.create_table('office_alias',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alias', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_office_alias_office_id_office')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_office_alias')),
    sa.UniqueConstraint('key', name=op.f('uq_office_alias_key'))
    )
    with op.batch_alter_table('office_alias', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_office_alias_office_id'), ['office_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('entity_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('entity_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_audit_event_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_at'), ['at'], unique=False)

    op.create_table('flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('fiscal_year', sa.Integer(), nullable=True),
    sa.Column('program_id', sa.Integer(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=True),
    sa.Column('evidence_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('gao_class', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('effect', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("decision IS NULL OR decision IN ('confirmed', 'not_a_problem', 'explained', 'follow_up')", name=op.f('ck_flag_decision')),
    sa.CheckConstraint("status IN ('open', 'decided')", name=op.f('ck_flag_status')),
    sa.CheckConstraint("type IN ('duplicate_entry', 'possible_duplicate_funding', 'embassy_unaware', 'not_in_agency_records', 'amount_mismatch', 'ceiling_exceeded')", name=op.f('ck_flag_type')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_flag_country_code_country')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], name=op.f('fk_flag_decided_by_id_app_user')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_flag_program_id_program')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag')),
    sa.UniqueConstraint('fingerprint', name=op.f('uq_flag_fingerprint'))
    )
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_active'), ['active'], unique=False)
        batch_op.create_index('ix_flag_country_year', ['country_code', 'fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_type'), ['type'], unique=False)

    op.create_table('submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('stored_path', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('source_kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=True),
    sa.CheckConstraint("source_kind IN ('agency', 'embassy')", name=op.f('ck_submission_source_kind')),
    sa.CheckConstraint("status IN ('committed', 'superseded', 'rejected')", name=op.f('ck_submission_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_submission_agency_id_agency')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_submission_country_code_country')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_submission_office_id_office')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['submission.id'], name=op.f('fk_submission_supersedes_id_submission')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['app_user.id'], name=op.f('fk_submission_uploaded_by_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission'))
    )
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_uploaded_at'), ['uploaded_at'], unique=False)

    op.create_table('user_country',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_user_country_country_code_country')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_country_user_id_app_user')),
    sa.PrimaryKeyConstraint('user_id', 'country_code', name=op.f('pk_user_country'))
    )
    op.create_table('embassy_report_row',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('office_id', sa.Integer(), nullable=True),
    sa.Column('agency_text', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('implementer_id', sa.Integer(), nullable=True),
    sa.Column('implementer_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('source_sheet', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.CheckConstraint("area IS NULL OR area IN ('prevention', 'protection', 'prosecution')", name=op.f('ck_embassy_report_row_area')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_embassy_report_row_agency_id_agency')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_embassy_report_row_country_code_country')),
    sa.ForeignKeyConstraint(['implementer_id'], ['implementer.id'], name=op.f('fk_embassy_report_row_implementer_id_implementer')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_embassy_report_row_office_id_office')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_embassy_report_row_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embassy_report_row'))
    )
    with op.batch_alter_table('embassy_report_row', schema=None) as batch_op:
        batch_op.create_index('ix_embassy_report_row_country_year', ['country_code', 'fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_embassy_report_row_submission_id'), ['submission_id'], unique=False)

    op.create_table('flag_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('gao_class', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('effect', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['app_user.id'], name=op.f('fk_flag_decision_decided_by_id_app_user')),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_flag_decision_flag_id_flag')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_decision'))
    )
    with op.batch_alter_table('flag_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_decision_flag_id'), ['flag_id'], unique=False)

    op.create_table('obligation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.Integer(), nullable=False),
    sa.Column('country_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=True),
    sa.Column('implementer_id', sa.Integer(), nullable=True),
    sa.Column('implementer_name', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('award_number', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('obligation_date', sa.Date(), nullable=True),
    sa.Column('amount', tracker.dbtypes.Money(precision=14, scale=2), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('source_sheet', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('source_row', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("area IS NULL OR area IN ('prevention', 'protection', 'prosecution')", name=op.f('ck_obligation_area')),
    sa.CheckConstraint("status IN ('proposed', 'obligated', 'de-obligated')", name=op.f('ck_obligation_status')),
    sa.ForeignKeyConstraint(['country_code'], ['country.code'], name=op.f('fk_obligation_country_code_country')),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], name=op.f('fk_obligation_created_by_id_app_user')),
    sa.ForeignKeyConstraint(['implementer_id'], ['implementer.id'], name=op.f('fk_obligation_implementer_id_implementer')),
    sa.ForeignKeyConstraint(['office_id'], ['office.id'], name=op.f('fk_obligation_office_id_office')),
    sa.ForeignKeyConstraint(['program_id'], ['program.id'], name=op.f('fk_obligation_program_id_program')),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_obligation_submission_id_submission')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_obligation'))
    )
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_obligation_country_code'), ['country_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_fiscal_year'), ['fiscal_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_implementer_id'), ['implementer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_office_id'), ['office_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_program_id'), ['program_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_obligation_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index('ix_obligation_totals', ['fiscal_year', 'office_id', 'country_code', 'status', 'amount'], unique=False)

    op.create_table('submission_year',
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['submission.id'], name=op.f('fk_submission_year_submission_id_submission')),
    sa.PrimaryKeyConstraint('submission_id', 'fiscal_year', name=op.f('pk_submission_year'))
    )
    op.create_table('flag_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('obligation_id', sa.Integer(), nullable=True),
    sa.Column('embassy_row_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('(obligation_id IS NULL) <> (embassy_row_id IS NULL)', name=op.f('ck_flag_record_one_record')),
    sa.ForeignKeyConstraint(['embassy_row_id'], ['embassy_report_row.id'], name=op.f('fk_flag_record_embassy_row_id_embassy_report_row')),
    sa.ForeignKeyConstraint(['flag_id'], ['flag.id'], name=op.f('fk_flag_record_flag_id_flag')),
    sa.ForeignKeyConstraint(['obligation_id'], ['obligation.id'], name=op.f('fk_flag_record_obligation_id_obligation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_record'))
    )
    with op.batch_alter_table('flag_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flag_record_embassy_row_id'), ['embassy_row_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_record_flag_id'), ['flag_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_flag_record_obligation_id'), ['obligation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('flag_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_record_obligation_id'))
        batch_op.drop_index(batch_op.f('ix_flag_record_flag_id'))
        batch_op.drop_index(batch_op.f('ix_flag_record_embassy_row_id'))

    op.drop_table('flag_record')
    op.drop_table('submission_year')
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_index('ix_obligation_totals')
        batch_op.drop_index(batch_op.f('ix_obligation_submission_id'))
        batch_op.drop_index(batch_op.f('ix_obligation_program_id'))
        batch_op.drop_index(batch_op.f('ix_obligation_office_id'))
        batch_op.drop_index(batch_op.f('ix_obligation_implementer_id'))
        batch_op.drop_index(batch_op.f('ix_obligation_fiscal_year'))
        batch_op.drop_index(batch_op.f('ix_obligation_country_code'))

    op.drop_table('obligation')
    with op.batch_alter_table('flag_decision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_decision_flag_id'))

    op.drop_table('flag_decision')
    with op.batch_alter_table('embassy_report_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embassy_report_row_submission_id'))
        batch_op.drop_index('ix_embassy_report_row_country_year')

    op.drop_table('embassy_report_row')
    op.drop_table('user_country')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_uploaded_at'))
        batch_op.drop_index(batch_op.f('ix_submission_status'))
        batch_op.drop_index(batch_op.f('ix_submission_sha256'))
        batch_op.drop_index(batch_op.f('ix_submission_country_code'))
        batch_op.drop_index(batch_op.f('ix_submission_agency_id'))

    op.drop_table('submission')
    with op.batch_alter_table('flag', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flag_type'))
        batch_op.drop_index(batch_op.f('ix_flag_status'))
        batch_op.drop_index('ix_flag_country_year')
        batch_op.drop_index(batch_op.f('ix_flag_active'))

    op.drop_table('flag')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_at'))
        batch_op.drop_index(batch_op.f('ix_audit_event_action'))

    op.drop_table('audit_event')
    with op.batch_alter_table('office_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_alias_office_id'))

    op.drop_table('office_alias')
    op.drop_table('app_user')
    op.drop_table('program_country')
    with op.batch_alter_table('program_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_program_alias_program_id'))

    op.drop_table('program_alias')
    with op.batch_alter_table('office', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_office_agency_id'))

    op.drop_table('office')
    with op.batch_alter_table('implementer_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_implementer_alias_implementer_id'))

    op.drop_table('implementer_alias')
    with op.batch_alter_table('country_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_country_alias_country_code'))

    op.drop_table('country_alias')
    with op.batch_alter_table('agency_alias', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_alias_agency_id'))

    op.drop_table('agency_alias')
    op.drop_table('program')
    op.drop_table('implementer')
    with op.batch_alter_table('country', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_country_region'))

    op.drop_table('country')
    op.drop_table('agency')
