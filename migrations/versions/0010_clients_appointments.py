"""clinic time zone; clients, appointments and their invitations; pre-session checks

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10

Existing clinics get UTC, the zone the dashboard showed times in before. Existing drafts and
submissions belong to no client or appointment.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False)
        )

    op.create_table(
        'client',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('full_name', sa.String(length=200), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=True),
        sa.Column('phone', sa.String(length=40), nullable=True),
        sa.Column('email_key', sa.String(length=254), nullable=True),
        sa.Column('phone_key', sa.String(length=40), nullable=True),
        sa.Column('name_key', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_client_clinic_id_clinic'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_client')),
    )
    op.create_index('ix_client_clinic_email', 'client', ['clinic_id', 'email_key'], unique=False)
    op.create_index('ix_client_clinic_phone', 'client', ['clinic_id', 'phone_key'], unique=False)
    op.create_index('ix_client_clinic_name', 'client', ['clinic_id', 'name_key'], unique=False)

    op.create_table(
        'appointment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('token_seed', sa.String(length=64), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('emailed_count', sa.Integer(), nullable=False),
        sa.Column('previous_submission_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_appointment_clinic_id_clinic'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['client_id'], ['client.id'], name=op.f('fk_appointment_client_id_client'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['practitioner.id'], name=op.f('fk_appointment_created_by_id_practitioner'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
        sa.UniqueConstraint('clinic_id', 'client_id', 'starts_at', name=op.f('uq_appointment_clinic_id')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_appointment_token_hash')),
    )
    op.create_index('ix_appointment_clinic_starts', 'appointment', ['clinic_id', 'starts_at', 'id'], unique=False)
    op.create_index(op.f('ix_appointment_client_id'), 'appointment', ['client_id'], unique=False)

    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_draft_appointment_id'), ['appointment_id'])
        batch_op.create_foreign_key(
            batch_op.f('fk_draft_appointment_id_appointment'), 'appointment', ['appointment_id'], ['id'],
            ondelete='CASCADE',
        )

    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('rechecked', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_submission_client_id'), ['client_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_submission_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_submission_client_id_client'), 'client', ['client_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_submission_appointment_id_appointment'), 'appointment', ['appointment_id'], ['id'],
            ondelete='SET NULL',
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_submission_previous_id_submission'), 'submission', ['previous_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_submission_previous_id_submission'), type_='foreignkey')
        batch_op.drop_column('rechecked')
        batch_op.drop_column('previous_id')
        batch_op.drop_constraint(batch_op.f('fk_submission_appointment_id_appointment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_submission_client_id_client'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_submission_appointment_id'))
        batch_op.drop_index(batch_op.f('ix_submission_client_id'))
        batch_op.drop_column('appointment_id')
        batch_op.drop_column('client_id')

    with op.batch_alter_table('draft', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_draft_appointment_id_appointment'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_draft_appointment_id'), type_='unique')
        batch_op.drop_column('appointment_id')

    op.drop_index(op.f('ix_appointment_client_id'), table_name='appointment')
    op.drop_index('ix_appointment_clinic_starts', table_name='appointment')
    op.drop_table('appointment')
    op.drop_index('ix_client_clinic_name', table_name='client')
    op.drop_index('ix_client_clinic_phone', table_name='client')
    op.drop_index('ix_client_clinic_email', table_name='client')
    op.drop_table('client')

    with op.batch_alter_table('clinic', schema=None) as batch_op:
        batch_op.drop_column('timezone')
