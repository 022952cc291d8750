"""questionnaire_version: every questionnaire version used, so a submission reads as answered

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08

Submissions made before this revision name versions that were never stored; they are read with
the current questionnaire (screener/storage/versions.py). `flask init-db` stores the current
version right after migrating, so submissions of that version keep their wording from then on.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'questionnaire_version',
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_questionnaire_version')),
    )


def downgrade() -> None:
    op.drop_table('questionnaire_version')
