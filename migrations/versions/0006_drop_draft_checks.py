"""draft: drop checked_for and step_checks (every step is checked again before review and submit)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_column('step_checks')
        batch_op.drop_column('checked_for')


def downgrade() -> None:
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checked_for', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('step_checks', sa.JSON(), nullable=True))
