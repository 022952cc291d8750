"""draft.embedded and draft.furthest_step: where clients stop, counted from drafts alone

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

The dashboard's page of where clients stop (screener/dashboard/dropoff.py) counts a clinic's
drafts started in a period: how far each got, whether it was sent, from a standalone or an
embedded page. Two columns on the draft hold what it needs, with no cookie and no tracking:

- `embedded`: set when the draft is made from an embedded page (/embed/<slug>/start).
- `furthest_step`: the furthest position reached in the questionnaire's order (a step's index,
  the number of steps for the review page), raised by the step save's own UPDATE, never
  lowered.

Drafts made before this revision keep NULL in both (how far they got was never recorded): the
page does not count them and says how many it left out.

The index on (clinic_id, created_at) lets the page read the drafts of its period only.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('embedded', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('furthest_step', sa.Integer(), nullable=True))
    op.create_index('ix_draft_clinic_created', 'draft', ['clinic_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_draft_clinic_created', table_name='draft')
    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_column('furthest_step')
        batch_op.drop_column('embedded')
