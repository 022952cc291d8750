"""severity index covers reviewed_at: the red-flag counts of the dashboard read no table rows

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_clinic_severity')
        batch_op.create_index('ix_submission_clinic_severity_reviewed', ['clinic_id', 'max_severity', 'reviewed_at', 'submitted_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_index('ix_submission_clinic_severity_reviewed')
        batch_op.create_index('ix_submission_clinic_severity', ['clinic_id', 'max_severity', 'submitted_at', 'id'], unique=False)

