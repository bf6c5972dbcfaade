"""append-only audit trail, client address, deleted obligations

The audit trail is made append-only in the database itself: triggers refuse any UPDATE or
DELETE on audit_event, whatever program connects (SQLite: RAISE(ABORT); PostgreSQL: a plpgsql
function raising an exception). audit_event gains the client's address (ip) and two indexes
(failed sign-ins by time; a record's history); obligation gains deleted_at (deleting keeps the
record, no longer current, so totals "as of" an earlier moment can still count it).

A later migration that rebuilds audit_event on SQLite (batch "move and copy") drops its
triggers with the old table and must create them again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 02:30:00
"""
from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

import tracker.dbtypes

revision: str = '0007'
down_revision: Union[str, None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

#: The message every refused change carries (tests and people look for it).
REFUSAL = 'audit_event is append-only: events are never changed or deleted'


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=45), nullable=True))
        batch_op.create_index('ix_audit_event_action_at', ['action', 'at'], unique=False)
        batch_op.create_index('ix_audit_event_entity', ['entity_type', 'entity_id'], unique=False)
    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', tracker.dbtypes.UtcDateTime(timezone=True), nullable=True))

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSAL}' USING ERRCODE = 'insufficient_privilege';
            END
            $$""")
        op.execute("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        op.execute("CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
        # TRUNCATE fires no row trigger: refuse it with a statement trigger.
        op.execute("CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()")
    else:
        for verb in ('UPDATE', 'DELETE'):
            op.execute(f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in ('no_update', 'no_delete', 'no_truncate'):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_{name} ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")
    else:
        for name in ('no_update', 'no_delete'):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_{name}")

    with op.batch_alter_table('obligation', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_entity')
        batch_op.drop_index('ix_audit_event_action_at')
        batch_op.drop_column('ip')
