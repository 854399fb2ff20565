from __future__ import annotations

from fastapi import APIRouter

from kaifang.api import accounts, health, organisations

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(accounts.router, prefix="/api/v1")
api_router.include_router(organisations.router, prefix="/api/v1")
