"""Home and language switch (the catalog page lives in routes/search.py)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.auth.queries import list_organisations
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db
from kaifang.http.middleware import LOCALE_COOKIE
from kaifang.i18n import normalise_locale
from kaifang.web.templating import render

router = APIRouter()


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths: never redirect to another host."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> HTMLResponse:
    orgs = list_organisations(db)
    return render(request, "pages/home.html", {"organisations": orgs[:12], "org_count": len(orgs)})


@router.get("/lang/{locale}")
def switch_language(locale: str, next: str = "/", actor: Principal = Depends(PUBLIC)) -> RedirectResponse:
    response = RedirectResponse(safe_next(next), status_code=303)
    chosen = normalise_locale(locale)
    if chosen:
        response.set_cookie(LOCALE_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax")
    return response
