"""practitioners, audit log, dashboard columns (reviewer, max severity, notify email)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('practitioner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('session_key', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_practitioner_clinic_id_clinic'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner')),
    sa.UniqueConstraint('email', name=op.f('uq_practitioner_email'))
    )
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practitioner_clinic_id'), ['clinic_id'], unique=False)

    op.create_table('audit_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clinic_id', sa.Integer(), nullable=True),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_audit_event_clinic_id_clinic'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_audit_event_practitioner_id_practitioner'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_clinic_at', ['clinic_id', 'at', 'id'], unique=False)

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_email', sa.String(length=254), nullable=True))

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_severity', sa.String(length=16), nullable=True))
        batch_op.create_index('ix_submission_clinic_reviewed', ['clinic_id', 'reviewed_at', 'submitted_at', 'id'], unique=False)
        batch_op.create_index('ix_submission_clinic_severity', ['clinic_id', 'max_severity', 'submitted_at', 'id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_submission_reviewed_by_id_practitioner'), 'practitioner', ['reviewed_by_id'], ['id'], ondelete='SET NULL')

    _backfill_max_severity()


SEVERITIES = ('red_flag', 'discuss', 'timing', 'comfort', 'info')  # most serious first


def _backfill_max_severity() -> None:
    """Submissions made before this revision: derive max_severity from their stored flags."""
    submission = sa.table(
        'submission', sa.column('id', sa.Integer()), sa.column('flags', sa.JSON()),
        sa.column('max_severity', sa.String(16)),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(submission.c.id, submission.c.flags)).all()
    for sid, flags in rows:
        ranks = [SEVERITIES.index(f['severity']) for f in flags or ()
                 if isinstance(f, dict) and f.get('severity') in SEVERITIES]
        if ranks:
            conn.execute(
                submission.update().where(submission.c.id == sid)
                .values(max_severity=SEVERITIES[min(ranks)])
            )



def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submission_reviewed_by_id_practitioner'), type_='foreignkey')
        batch_op.drop_index('ix_submission_clinic_severity')
        batch_op.drop_index('ix_submission_clinic_reviewed')
        batch_op.drop_column('max_severity')
        batch_op.drop_column('reviewed_by_id')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('notify_email')

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_clinic_at')

    op.drop_table('audit_event')
    with op.batch_alter_table('practitioner', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_clinic_id'))

    op.drop_table('practitioner')
