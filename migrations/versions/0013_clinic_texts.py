"""clinic languages and texts: offered languages, default, texts by language; consent_text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Clinics made before this revision have all three columns NULL: they offer every language, the
product's default first, and show the product's texts, as before. consent_text keeps each
clinic consent text that a client signed, under the version the submission records.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# Plain ALTER TABLE ... ADD/DROP COLUMN on both engines (SQLite 3.35 and later drops a column
# in place): batch mode would copy the clinic table, losing its trigger (0012).
COLUMNS = (
    ('languages', sa.JSON()), ('default_lang', sa.String(length=16)), ('texts', sa.JSON()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column('clinic', sa.Column(name, type_, nullable=True))
    op.create_table(
        'consent_text',
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('lang', sa.String(length=16), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('declaration', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_consent_text')),
    )


def downgrade() -> None:
    op.drop_table('consent_text')
    for name, _type in reversed(COLUMNS):
        op.execute(f'ALTER TABLE clinic DROP COLUMN {name}')
