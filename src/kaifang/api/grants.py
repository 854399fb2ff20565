"""JSON API of grants."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["grants"])
