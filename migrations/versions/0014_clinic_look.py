"""clinic_look: a clinic's logo (re-encoded image bytes, content hash, type, size) and accent colour

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

A table of its own, one row per clinic that has a logo or an accent colour: the clinic row, read
on every request, stays small, and the logo's bytes are read only when the logo is served.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'clinic_look',
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('accent', sa.String(length=7), nullable=True),
        sa.Column('logo', sa.LargeBinary(), nullable=True),
        sa.Column('logo_hash', sa.String(length=64), nullable=True),
        sa.Column('logo_type', sa.String(length=16), nullable=True),
        sa.Column('logo_width', sa.Integer(), nullable=True),
        sa.Column('logo_height', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['clinic_id'], ['clinic.id'], name=op.f('fk_clinic_look_clinic_id_clinic'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('clinic_id', name=op.f('pk_clinic_look')),
    )


def downgrade() -> None:
    op.drop_table('clinic_look')
