"""clinic time zone

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-10

Existing clinics get UTC, the zone the dashboard showed times in before.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('timezone')
