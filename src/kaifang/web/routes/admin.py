"""Admin area: accounts and roles, organisations, identity review, outgoing mail."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.auth.actions import (
    do_create_organisation,
    do_decide_verification,
    do_grant_role,
    do_revoke_role,
    do_set_active,
    do_update_organisation,
)
from kaifang.auth.forms import OrganisationInput
from kaifang.auth.models import (
    ACCOUNT_TYPE_LABELS,
    ORG_KIND_LABELS,
    ROLE_LABELS,
    IdentityVerification,
    User,
    VerificationStatus,
)
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import (
    access_organisation,
    access_user,
    access_verification,
    latest_verification,
    list_organisations,
    list_users,
    pending_verifications,
)
from kaifang.errors import ValidationFailed
from kaifang.http.access import (
    ADMIN_AREA,
    MANAGE_ORGANISATIONS,
    MANAGE_USERS,
    READ_OUTBOX,
    REVIEW_IDENTITY,
)
from kaifang.http.deps import form_data, get_db
from kaifang.i18n import _
from kaifang.notify.models import OutboundMail
from kaifang.web.templating import flash, render

router = APIRouter(prefix="/admin")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, actor: Principal = Depends(ADMIN_AREA),
              db: Session = Depends(get_db)) -> Response:
    pending = db.scalar(select(func.count()).select_from(IdentityVerification).where(
        IdentityVerification.status == VerificationStatus.PENDING)) or 0
    users = db.scalar(select(func.count()).select_from(User)) or 0
    return render(request, "admin/dashboard.html", {"pending": pending, "user_count": users,
                                                    "org_count": len(list_organisations(db))})


@router.get("/verifications", response_class=HTMLResponse)
def verifications(request: Request, actor: Principal = Depends(REVIEW_IDENTITY),
                  db: Session = Depends(get_db)) -> Response:
    return render(request, "admin/verifications.html", {
        "rows": pending_verifications(db, actor), "account_types": ACCOUNT_TYPE_LABELS})


@router.post("/verifications/{verification_id}")
def decide_verification(verification_id: str, request: Request,
                        form: dict[str, str] = Depends(form_data),
                        actor: Principal = Depends(REVIEW_IDENTITY),
                        db: Session = Depends(get_db)) -> Response:
    row = access_verification(db, actor, verification_id)
    approve = form.get("decision") == "approve"
    try:
        do_decide_verification(db, actor, row, approve, form.get("reason", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        flash(request, " ".join(m for msgs in exc.fields.values() for m in msgs), "error")
        return _redirect("/admin/verifications")
    flash(request, _("Identity verified.") if approve else _("Identity rejected."))
    return _redirect("/admin/verifications")


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, q: str = "", actor: Principal = Depends(MANAGE_USERS),
          db: Session = Depends(get_db)) -> Response:
    return render(request, "admin/users.html", {"users": list_users(db, actor, q[:100]), "q": q,
                                                "account_types": ACCOUNT_TYPE_LABELS,
                                                "role_labels": ROLE_LABELS})


def _user_page(request: Request, db: Session, actor: Principal, user_id: str,
               errors: dict[str, list[str]] | None = None, status: int = 200) -> Response:
    user = access_user(db, actor, user_id)
    return render(request, "admin/user.html", {
        "user": user, "verification": latest_verification(db, user.id), "role_labels": ROLE_LABELS,
        "account_types": ACCOUNT_TYPE_LABELS, "errors": errors or {},
    }, status)


@router.get("/users/{user_id}", response_class=HTMLResponse)
def user_detail(user_id: str, request: Request, actor: Principal = Depends(MANAGE_USERS),
                db: Session = Depends(get_db)) -> Response:
    return _user_page(request, db, actor, user_id)


@router.post("/users/{user_id}/roles")
def grant_role(user_id: str, request: Request, form: dict[str, str] = Depends(form_data),
               actor: Principal = Depends(MANAGE_USERS), db: Session = Depends(get_db)) -> Response:
    try:
        do_grant_role(db, actor, access_user(db, actor, user_id), form.get("role", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _user_page(request, db, actor, user_id, exc.fields, 422)
    flash(request, _("The role is granted."))
    return _redirect(f"/admin/users/{user_id}")


@router.post("/users/{user_id}/roles/{role}/revoke")
def revoke_role(user_id: str, role: str, request: Request, actor: Principal = Depends(MANAGE_USERS),
                db: Session = Depends(get_db)) -> Response:
    do_revoke_role(db, actor, access_user(db, actor, user_id), role)
    db.commit()
    flash(request, _("The role is revoked."))
    return _redirect(f"/admin/users/{user_id}")


@router.post("/users/{user_id}/active")
def set_active(user_id: str, request: Request, form: dict[str, str] = Depends(form_data),
               actor: Principal = Depends(MANAGE_USERS), db: Session = Depends(get_db)) -> Response:
    do_set_active(db, actor, access_user(db, actor, user_id), form.get("active") == "1")
    db.commit()
    flash(request, _("The account is saved."))
    return _redirect(f"/admin/users/{user_id}")


def _org_input(form: dict[str, str], slug: str | None = None) -> OrganisationInput:
    return OrganisationInput(
        slug=slug or form.get("slug", ""), name=form.get("name", ""), kind=form.get("kind", ""),
        name_en=form.get("name_en", ""), parent_id=form.get("parent_id", ""), uscc=form.get("uscc", ""),
        description=form.get("description", ""), contact_email=form.get("contact_email", ""),
        contact_phone=form.get("contact_phone", ""),
    )


def _org_form(request: Request, db: Session, form: dict[str, str], errors: dict[str, list[str]],
              editing: str | None, status: int = 200) -> Response:
    return render(request, "admin/org_form.html", {
        "form": form, "errors": errors, "editing": editing, "kinds": ORG_KIND_LABELS,
        "parents": [o for o in list_organisations(db) if o.slug != editing],
    }, status)


@router.get("/organisations/new", response_class=HTMLResponse)
def new_org(request: Request, actor: Principal = Depends(MANAGE_ORGANISATIONS),
            db: Session = Depends(get_db)) -> Response:
    return _org_form(request, db, {}, {}, None)


@router.post("/organisations/new")
def create_org(request: Request, form: dict[str, str] = Depends(form_data),
               actor: Principal = Depends(MANAGE_ORGANISATIONS), db: Session = Depends(get_db)) -> Response:
    try:
        org = do_create_organisation(db, actor, _org_input(form))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _org_form(request, db, form, exc.fields, None, 422)
    flash(request, _("The organisation is created."))
    return _redirect(f"/organisations/{org.slug}")


@router.get("/organisations/{slug}/edit", response_class=HTMLResponse)
def edit_org(slug: str, request: Request, actor: Principal = Depends(MANAGE_ORGANISATIONS),
             db: Session = Depends(get_db)) -> Response:
    org = access_organisation(db, actor, slug)
    form = {"slug": org.slug, "name": org.name, "name_en": org.name_en, "kind": org.kind,
            "parent_id": org.parent_id or "", "uscc": org.uscc or "", "description": org.description,
            "contact_email": org.contact_email, "contact_phone": org.contact_phone}
    return _org_form(request, db, form, {}, slug)


@router.post("/organisations/{slug}/edit")
def update_org(slug: str, request: Request, form: dict[str, str] = Depends(form_data),
               actor: Principal = Depends(MANAGE_ORGANISATIONS), db: Session = Depends(get_db)) -> Response:
    org = access_organisation(db, actor, slug)
    try:
        do_update_organisation(db, actor, org, _org_input(form, slug))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _org_form(request, db, {**form, "slug": slug}, exc.fields, slug, 422)
    flash(request, _("The organisation is saved."))
    return _redirect(f"/organisations/{slug}")


@router.get("/outbox", response_class=HTMLResponse)
def outbox(request: Request, actor: Principal = Depends(READ_OUTBOX),
           db: Session = Depends(get_db)) -> Response:
    mails = list(db.scalars(select(OutboundMail).order_by(OutboundMail.created_at.desc()).limit(100)))
    return render(request, "admin/outbox.html", {"mails": mails})
