from __future__ import annotations

from fastapi import APIRouter, Depends

from kaifang.api import accounts, applications, cases, ckan, data, dcat, grants, health, organisations, uploads
from kaifang.http.csrf import api_csrf_protect

api_router = APIRouter()
# The data routes come first: routes are matched in order, and they are the busiest by far. They
# only read (GET), so they skip the CSRF dependency every other API route passes.
api_router.include_router(data.router, prefix="/api/v1")
# Unsafe calls made with a logged-in session cookie need the X-CSRF-Token header.
checked = APIRouter(dependencies=[Depends(api_csrf_protect)])
checked.include_router(health.router)
checked.include_router(accounts.router, prefix="/api/v1")
checked.include_router(organisations.router, prefix="/api/v1")
checked.include_router(cases.router, prefix="/api/v1")
checked.include_router(uploads.router, prefix="/api/v1")
checked.include_router(applications.router, prefix="/api/v1")
checked.include_router(grants.router, prefix="/api/v1")
# CKAN-compatible reads and the DCAT feeds keep the paths their clients expect.
checked.include_router(ckan.router)
checked.include_router(dcat.router)
api_router.include_router(checked)
