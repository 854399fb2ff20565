"""grants: usage feedback and withdrawal follow-up

Revision ID: b7d1e0a9c4f2
Revises: a3c9f1e2d4b6
Create Date: 2026-12-03 14:01:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import kaifang.db

revision: str = 'b7d1e0a9c4f2'
down_revision: str | None = 'a3c9f1e2d4b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Usage reports a grant owes, one per period, each handled as a case (LYG 24).
    op.create_table('access_feedback',
    sa.Column('grant_id', sa.String(length=32), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('case_id', sa.String(length=32), nullable=False),
    sa.Column('opened_at', kaifang.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_access_feedback_case_id_case_file')),
    sa.ForeignKeyConstraint(['grant_id'], ['access_grant.id'], name=op.f('fk_access_feedback_grant_id_access_grant')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_feedback')),
    sa.UniqueConstraint('grant_id', 'period_end', name='uq_access_feedback_period')
    )
    with op.batch_alter_table('access_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_feedback_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_access_feedback_grant_id'), ['grant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('access_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_feedback_grant_id'))
        batch_op.drop_index(batch_op.f('ix_access_feedback_case_id'))

    op.drop_table('access_feedback')
