"""conditional access: applications, agreement templates, agreements

Revision ID: a3c9f1e2d4b6
Revises: 22522f90c76b
Create Date: 2026-12-03 14:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import kaifang.db  # noqa: F401

revision: str = 'a3c9f1e2d4b6'
down_revision: str | None = '22522f90c76b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
