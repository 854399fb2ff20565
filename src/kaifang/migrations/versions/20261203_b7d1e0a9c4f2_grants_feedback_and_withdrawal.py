"""grants: usage feedback and withdrawal follow-up

Revision ID: b7d1e0a9c4f2
Revises: a3c9f1e2d4b6
Create Date: 2026-12-03 14:01:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import kaifang.db  # noqa: F401

revision: str = 'b7d1e0a9c4f2'
down_revision: str | None = 'a3c9f1e2d4b6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
