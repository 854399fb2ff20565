"""Organisation pages: the provider tree, one provider, its members."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kaifang.auth.actions import do_add_member, do_remove_member
from kaifang.auth.models import MEMBERSHIP_ROLE_LABELS, ORG_KIND_LABELS
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_organisation, access_organisation_members, organisation_tree
from kaifang.catalog.queries import entries_of_provider
from kaifang.catalog.visibility import organisations_in_charge, sees_everything
from kaifang.catalog.vocab import ENTRY_STATUS_LABELS, OPEN_TYPE_LABELS, UPDATE_FREQUENCY_LABELS
from kaifang.errors import ValidationFailed
from kaifang.http.access import LOGGED_IN, PUBLIC
from kaifang.http.deps import form_data, get_db
from kaifang.i18n import _
from kaifang.web.templating import flash, render

router = APIRouter()


@router.get("/organisations", response_class=HTMLResponse)
def organisations(request: Request, actor: Principal = Depends(PUBLIC),
                  db: Session = Depends(get_db)) -> Response:
    return render(request, "orgs/list.html", {"tree": organisation_tree(db), "kinds": ORG_KIND_LABELS})


@router.get("/organisations/{slug}", response_class=HTMLResponse)
def organisation(slug: str, request: Request, actor: Principal = Depends(PUBLIC),
                 db: Session = Depends(get_db)) -> Response:
    org = access_organisation(db, actor, slug)
    in_charge = org.id in organisations_in_charge(db, actor)
    return render(request, "orgs/detail.html", {
        "org": org, "kinds": ORG_KIND_LABELS, "member_role": actor.member_role(org),
        "can_manage": actor.can_manage_members(org),
        # Only what this visitor may see (the visibility rule): the public sees published open entries.
        "entries": entries_of_provider(db, actor, org.id), "may_catalog": in_charge,
        "may_see_duties": in_charge or sees_everything(actor),
        "open_types": OPEN_TYPE_LABELS, "statuses": ENTRY_STATUS_LABELS, "frequencies": UPDATE_FREQUENCY_LABELS,
    })


def _members_page(request: Request, db: Session, actor: Principal, slug: str,
                  errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None,
                  status: int = 200) -> Response:
    org, members = access_organisation_members(db, actor, slug)
    return render(request, "orgs/members.html", {
        "org": org, "members": members, "roles": MEMBERSHIP_ROLE_LABELS,
        "can_manage": actor.can_manage_members(org), "errors": errors or {}, "form": form or {},
    }, status)


@router.get("/organisations/{slug}/members", response_class=HTMLResponse)
def members(slug: str, request: Request, actor: Principal = Depends(LOGGED_IN),
            db: Session = Depends(get_db)) -> Response:
    return _members_page(request, db, actor, slug)


@router.post("/organisations/{slug}/members")
def add_member(slug: str, request: Request, form: dict[str, str] = Depends(form_data),
               actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    org, _members = access_organisation_members(db, actor, slug)
    try:
        do_add_member(db, actor, org, form.get("login", ""), form.get("role", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _members_page(request, db, actor, slug, exc.fields, form, 422)
    flash(request, _("The member is added."))
    return RedirectResponse(f"/organisations/{slug}/members", status_code=303)


@router.post("/organisations/{slug}/members/{membership_id}/remove")
def remove_member(slug: str, membership_id: str, request: Request,
                  actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    org, _members = access_organisation_members(db, actor, slug)
    do_remove_member(db, actor, org, membership_id)
    db.commit()
    flash(request, _("The member is removed."))
    return RedirectResponse(f"/organisations/{slug}/members", status_code=303)
