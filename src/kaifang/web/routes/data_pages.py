"""Pages of a dataset's data: preview table, chart builder, downloads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry

router = APIRouter()


def panel_context(request: Request, db: Session, actor: Principal, entry: CatalogEntry) -> dict[str, Any]:
    """What this module's panel on the dataset page needs (merged into the page's context)."""
    return {}
