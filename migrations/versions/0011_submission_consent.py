"""submission consent: the consent text version signed, the typed name, the time, a drawing

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Submissions made before this revision have no consent (all four columns NULL); the summaries say
so. The drawn signature is optional vector data (strokes of points), validated before storing.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent_version', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('consent_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('consent_signed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('consent_signature', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_column('consent_signature')
        batch_op.drop_column('consent_signed_at')
        batch_op.drop_column('consent_name')
        batch_op.drop_column('consent_version')
