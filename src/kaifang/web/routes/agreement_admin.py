"""The authority's pages on conditional access: the model agreement (view its versions, save a new
one) and the compliance of providers (applications not evaluated in time, overdue usage feedback)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kaifang.applications.agreements import (
    PLACEHOLDERS,
    REQUIRED_PLACEHOLDERS,
    do_save_template,
    latest_template,
    preview_text,
    template_version,
    template_versions,
)
from kaifang.applications.model_agreement import MODEL_BODY, MODEL_TITLE
from kaifang.applications.queries import compliance, may_supervise
from kaifang.applications.workflows import APPLICATION
from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.errors import NotFound, ValidationFailed
from kaifang.http.access import Access
from kaifang.http.deps import form_data, get_db
from kaifang.i18n import _
from kaifang.web.templating import flash, render

router = APIRouter()

AUTHORITY = Access("role:authority_reviewer", lambda p: p.has_role(Role.AUTHORITY_REVIEWER))
SUPERVISORS = Access("supervision", may_supervise)


def _template_page(request: Request, db: Session, actor: Principal, shown: dict[str, Any], status: int = 200,
                   errors: dict[str, list[str]] | None = None, number: int | None = None) -> Response:
    versions = template_versions(db)
    return render(request, "admin/agreement_template.html", {
        "versions": versions, "v": shown, "errors": errors or {}, "placeholders": PLACEHOLDERS,
        "required": REQUIRED_PLACEHOLDERS, "may_edit": actor.has_role(Role.AUTHORITY_REVIEWER),
        "viewing": number, "latest": versions[0].number if versions else 1,
        "preview": preview_text(shown["body"]),
    }, status)


@router.get("/admin/agreement-template", response_class=HTMLResponse)
def agreement_template(request: Request, actor: Principal = Depends(SUPERVISORS),
                       db: Session = Depends(get_db)) -> Response:
    latest = latest_template(db)
    shown = ({"title": latest.title, "body": latest.body, "note": ""} if latest
             else {"title": MODEL_TITLE, "body": MODEL_BODY, "note": ""})
    return _template_page(request, db, actor, shown)


@router.get("/admin/agreement-template/{number}", response_class=HTMLResponse)
def agreement_template_version(number: int, request: Request, actor: Principal = Depends(SUPERVISORS),
                               db: Session = Depends(get_db)) -> Response:
    version = template_version(db, number)
    if version is None:
        raise NotFound(_("No such version of the model agreement."))
    return _template_page(request, db, actor, {"title": version.title, "body": version.body, "note": version.note,
                                                "created_at": version.created_at, "created_by": version.created_by},
                          number=number)


@router.post("/admin/agreement-template")
def save_agreement_template(request: Request, form: dict[str, str] = Depends(form_data),
                            actor: Principal = Depends(AUTHORITY), db: Session = Depends(get_db)) -> Response:
    # Line endings as the browser sends them (CRLF) are kept out of the stored text.
    body = form.get("body", "").replace("\r\n", "\n")
    shown = {"title": form.get("title", ""), "body": body, "note": form.get("note", "")}
    try:
        saved = do_save_template(db, actor, shown["title"], body, shown["note"])
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _template_page(request, db, actor, shown, 422, exc.fields)
    flash(request, _("Version %(n)s of the model agreement is saved. New agreements are made from it.", n=saved.number))
    return RedirectResponse("/admin/agreement-template", status_code=303)


@router.get("/supervision/compliance", response_class=HTMLResponse)
def compliance_page(request: Request, actor: Principal = Depends(SUPERVISORS),
                    db: Session = Depends(get_db)) -> Response:
    rows = compliance(db, actor)
    return render(request, "applications/compliance.html", {"rows": rows, "workflow": APPLICATION})
