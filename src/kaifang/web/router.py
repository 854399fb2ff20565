from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from kaifang.http.csrf import csrf_protect
from kaifang.i18n import _
from kaifang.web.routes import (
    accounts,
    admin,
    agreement_admin,
    application_case,
    applications,
    audit,
    calendar_admin,
    cases,
    catalog_admin,
    data_pages,
    datasets,
    grants,
    orgs,
    pages,
    search,
    sitemap,
    uploads,
)
from kaifang.web.templating import render

STATIC_DIR = Path(__file__).parent / "static"

# Every page route passes the CSRF check on unsafe methods.
web_router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf_protect)])
for module in (pages, search, sitemap, accounts, orgs, datasets, data_pages, applications, application_case,
               agreement_admin, grants, uploads, catalog_admin, admin, audit, cases, calendar_admin):
    web_router.include_router(module.router)


def render_error(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {403: _("Not allowed"), 404: _("Not found"), 500: _("Server error")}
    return render(request, "error.html",
                  {"status": status, "title": titles.get(status, _("Error")), "message": message},
                  status_code=status)
