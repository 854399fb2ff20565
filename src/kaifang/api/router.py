from __future__ import annotations

from fastapi import APIRouter, Depends

from kaifang.api import accounts, applications, cases, ckan, data, dcat, grants, health, organisations, uploads
from kaifang.http.csrf import api_csrf_protect

# Unsafe calls made with a logged-in session cookie need the X-CSRF-Token header.
api_router = APIRouter(dependencies=[Depends(api_csrf_protect)])
api_router.include_router(health.router)
api_router.include_router(accounts.router, prefix="/api/v1")
api_router.include_router(organisations.router, prefix="/api/v1")
api_router.include_router(cases.router, prefix="/api/v1")
api_router.include_router(uploads.router, prefix="/api/v1")
api_router.include_router(data.router, prefix="/api/v1")
api_router.include_router(applications.router, prefix="/api/v1")
api_router.include_router(grants.router, prefix="/api/v1")
# CKAN-compatible reads and the DCAT feeds keep the paths their clients expect.
api_router.include_router(ckan.router)
api_router.include_router(dcat.router)
