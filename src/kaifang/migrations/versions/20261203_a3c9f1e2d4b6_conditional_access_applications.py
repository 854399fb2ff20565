"""conditional access: applications, agreement templates, agreements

Revision ID: a3c9f1e2d4b6
Revises: 22522f90c76b
Create Date: 2026-12-03 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kaifang.db

revision: str = 'a3c9f1e2d4b6'
down_revision: str | None = '22522f90c76b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Applications for conditional data, the versioned model agreement, agreements and acceptances.
    op.create_table('agreement_template',
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', kaifang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.String(length=32), nullable=True),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_agreement_template_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_template')),
    sa.UniqueConstraint('number', name=op.f('uq_agreement_template_number'))
    )
    op.create_table('access_application',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('entry_id', sa.String(length=32), nullable=False),
    sa.Column('applicant_id', sa.String(length=32), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('modes', sa.JSON(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('scenario', sa.Text(), nullable=False),
    sa.Column('security_measures', sa.Text(), nullable=False),
    sa.Column('use_from', sa.Date(), nullable=False),
    sa.Column('use_until', sa.Date(), nullable=False),
    sa.Column('renews_grant_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', kaifang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('approved_columns', sa.JSON(), nullable=False),
    sa.Column('row_filter', sa.JSON(), nullable=False),
    sa.Column('approved_modes', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('feedback_every_months', sa.Integer(), nullable=False),
    sa.Column('decided_at', kaifang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.String(length=32), nullable=True),
    sa.Column('grant_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['applicant_id'], ['user_account.id'], name=op.f('fk_access_application_applicant_id_user_account')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_access_application_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['catalog_entry.id'], name=op.f('fk_access_application_entry_id_catalog_entry')),
    sa.ForeignKeyConstraint(['id'], ['case_file.id'], name=op.f('fk_access_application_id_case_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_application'))
    )
    with op.batch_alter_table('access_application', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_application_applicant_id'), ['applicant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_application_entry_id'), ['entry_id'], unique=False)

    op.create_table('data_agreement',
    sa.Column('application_id', sa.String(length=32), nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('template_number', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', kaifang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('review_submitted_at', kaifang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_outcome', sa.String(length=20), nullable=False),
    sa.Column('review_reason', sa.Text(), nullable=False),
    sa.Column('reviewed_at', kaifang.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.String(length=32), nullable=True),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['access_application.id'], name=op.f('fk_data_agreement_application_id_access_application'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['user_account.id'], name=op.f('fk_data_agreement_reviewed_by_id_user_account')),
    sa.ForeignKeyConstraint(['template_id'], ['agreement_template.id'], name=op.f('fk_data_agreement_template_id_agreement_template')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_agreement')),
    sa.UniqueConstraint('application_id', name=op.f('uq_data_agreement_application_id'))
    )
    op.create_table('agreement_acceptance',
    sa.Column('agreement_id', sa.String(length=32), nullable=False),
    sa.Column('party', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('accepted_at', kaifang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['data_agreement.id'], name=op.f('fk_agreement_acceptance_agreement_id_data_agreement'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_agreement_acceptance_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_acceptance')),
    sa.UniqueConstraint('agreement_id', 'party', name='uq_agreement_acceptance_party')
    )
    with op.batch_alter_table('agreement_acceptance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_acceptance_agreement_id'), ['agreement_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('agreement_acceptance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_acceptance_agreement_id'))

    op.drop_table('agreement_acceptance')
    op.drop_table('data_agreement')
    with op.batch_alter_table('access_application', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_application_entry_id'))
        batch_op.drop_index(batch_op.f('ix_access_application_applicant_id'))

    op.drop_table('access_application')
    op.drop_table('agreement_template')
