"""Open-list work around the entries: the authority's review queue, expert opinions, change requests,
ownership disputes, responsibility lists, the annual focus and the assessment of data not yet opened."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kaifang.auth.models import Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_organisation, list_organisations
from kaifang.cases.models import Case
from kaifang.cases.queries import case_view, entries
from kaifang.catalog.changes import (
    CAUSE_LABELS,
    FIELD_LABELS,
    access_change,
    changes_for,
    do_change_step,
    do_record_change,
    do_request_change,
    open_change,
    proposed_diff,
)
from kaifang.catalog.disputes import access_dispute, disputes_for, do_dispute_step, do_open_dispute
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry, access_entry_for_edit
from kaifang.catalog.responsibility import (
    do_record_nonopen_review,
    focus_entries,
    not_open_entries,
    providers_with_duties,
    responsibility_list,
)
from kaifang.catalog.review import access_opinion_request, do_give_opinion, opinion_requests, review_queue
from kaifang.catalog.visibility import organisations_in_charge, sees_everything
from kaifang.catalog.workflows import CHANGE, DISPUTE, RESOLVED_STATES, REVIEW
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.http.access import PUBLIC, Access
from kaifang.http.deps import form_data, get_db, get_settings
from kaifang.i18n import _
from kaifang.web.routes.datasets import (
    AUTHORITY,
    LABELS,
    OPEN_TYPE_CLASS,
    entry_input,
    form_context,
    full_form,
    input_of,
    row_change,
    rows_of,
    safe_next,
)
from kaifang.web.templating import flash, render

router = APIRouter()

CATALOG_STAFF = Access("catalog_staff", lambda p: p.is_provider_user() or sees_everything(p))
PROVIDER_STAFF = Access("provider_staff", lambda p: p.is_provider_user())
EXPERT = Access("role:expert", lambda p: p.has_role(Role.EXPERT))


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    return render(request, f"catalog_admin/{template}", {"labels": LABELS, "open_class": OPEN_TYPE_CLASS,
                                                          **context}, status)


def _write(request: Request, db: Session, action: Callable[[], object], done: str, back: str,
           again: Callable[[dict[str, list[str]], int], Response]) -> Response:
    """Runs one write: commit and go back, or show the page again with the reasons."""
    try:
        action()
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return again(exc.fields, 422)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return again({}, exc.status_code)
    flash(request, done)
    return _redirect(back)


# --- The authority's review queue and the experts' opinions -----------------------------------

@router.get("/open-list/review", response_class=HTMLResponse)
def queue(request: Request, actor: Principal = Depends(AUTHORITY), db: Session = Depends(get_db)) -> Response:
    return _page(request, "review.html", rows=review_queue(db, actor), workflow=REVIEW)


@router.get("/open-list/opinions", response_class=HTMLResponse)
def opinions(request: Request, actor: Principal = Depends(EXPERT), db: Session = Depends(get_db)) -> Response:
    return _page(request, "opinions.html", rows=opinion_requests(db, actor))


def _opinion_page(request: Request, db: Session, actor: Principal, name: str, errors: dict[str, list[str]],
                  status: int, form: dict[str, str] | None = None) -> Response:
    entry, case = access_opinion_request(db, actor, name)
    return _page(request, "opinion.html", status, entry=entry, case=case, thread=entries(db, case),
                 workflow=REVIEW, errors=errors, form=form or {})


@router.get("/open-list/opinions/{name}", response_class=HTMLResponse)
def opinion(name: str, request: Request, actor: Principal = Depends(EXPERT), db: Session = Depends(get_db)) -> Response:
    return _opinion_page(request, db, actor, name, {}, 200)


@router.post("/open-list/opinions/{name}")
def give_opinion(name: str, request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(EXPERT), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    entry, _case = access_opinion_request(db, actor, name)
    return _write(request, db, lambda: do_give_opinion(db, settings, actor, entry, form.get("opinion", "")),
                  _("Your opinion is sent to the authority."), "/open-list/opinions",
                  lambda errors, status: _opinion_page(request, db, actor, name, errors, status, form))


# --- Catalog change requests (CQ 17) ------------------------------------------------------------

def _change_form(request: Request, db: Session, actor: Principal, name: str, form: FormData | None = None,
                 errors: dict[str, list[str]] | None = None, status: int = 200,
                 rows: list[dict[str, str]] | None = None) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    data = entry_input(form) if form is not None else input_of(entry)
    record = {k: str(form.get(k) or "") for k in ("cause", "changed_on", "explanation")} if form else {}
    return render(request, "catalog_admin/change_form.html", form_context(
        db, data, rows if rows is not None else rows_of(data), entry=entry, org=entry.provider,
        action=f"/datasets/{name}/change", pending=open_change(db, entry), causes=CAUSE_LABELS, record=record,
        errors=errors or {}), status)


@router.get("/datasets/{name}/change", response_class=HTMLResponse)
def change_form(name: str, request: Request, actor: Principal = Depends(PROVIDER_STAFF),
                db: Session = Depends(get_db)) -> Response:
    return _change_form(request, db, actor, name)


@router.post("/datasets/{name}/change")
def request_change(name: str, request: Request, form: FormData = Depends(full_form),
                   actor: Principal = Depends(PROVIDER_STAFF), db: Session = Depends(get_db),
                   settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    rows = row_change(form)
    if rows is not None:
        return _change_form(request, db, actor, name, form, rows=rows)
    fields = (str(form.get("cause") or ""), str(form.get("changed_on") or ""), str(form.get("explanation") or ""))
    return _write(request, db, lambda: do_request_change(db, settings, actor, entry, fields, entry_input(form)),
                  _("The change request is filed. The authority reviews it within the period shown."),
                  f"/datasets/{name}",
                  lambda errors, status: _change_form(request, db, actor, name, form, errors, status))


@router.post("/datasets/{name}/change/record")
def record_change(name: str, request: Request, form: dict[str, str] = Depends(form_data),
                  actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db),
                  settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry(db, actor, name)
    fields = (form.get("cause", ""), form.get("changed_on", ""), form.get("explanation", ""))

    def refused(errors: dict[str, list[str]], status: int) -> Response:
        for messages in errors.values():
            flash(request, " ".join(messages), "error")
        return _redirect(f"/datasets/{name}")

    return _write(request, db, lambda: do_record_change(db, settings, actor, entry, *fields),
                  _("The change is recorded; the provider is asked to file it."), f"/datasets/{name}", refused)


@router.get("/open-list/changes", response_class=HTMLResponse)
def changes(request: Request, actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db)) -> Response:
    rows = changes_for(db, actor)
    cases = {c.case_id: db.get(Case, c.case_id) for c in rows if c.case_id}
    return _page(request, "changes.html", rows=rows, cases=cases, workflow=CHANGE, causes=CAUSE_LABELS)


def _change_page(request: Request, db: Session, actor: Principal, change_id: str,
                 errors: dict[str, list[str]] | None = None, status: int = 200) -> Response:
    change = access_change(db, actor, change_id)
    case = db.get(Case, change.case_id) if change.case_id else None
    return _page(request, "change.html", status, change=change, case=case, workflow=CHANGE,
                 steps=case_view(actor, case).transitions if case else [], thread=entries(db, case) if case else [],
                 diff=proposed_diff(change), fields=FIELD_LABELS, causes=CAUSE_LABELS, errors=errors or {})


@router.get("/open-list/changes/{change_id}", response_class=HTMLResponse)
def change_detail(change_id: str, request: Request, actor: Principal = Depends(CATALOG_STAFF),
                  db: Session = Depends(get_db)) -> Response:
    return _change_page(request, db, actor, change_id)


@router.post("/open-list/changes/{change_id}/steps/{step}")
def change_step(change_id: str, step: str, request: Request, form: dict[str, str] = Depends(form_data),
                actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db),
                settings: Settings = Depends(get_settings)) -> Response:
    change = access_change(db, actor, change_id)
    return _write(request, db, lambda: do_change_step(db, settings, actor, change, step, form.get("reason", "")),
                  _("Done. The change request is updated."), f"/open-list/changes/{change_id}",
                  lambda errors, status: _change_page(request, db, actor, change_id, errors, status))


# --- Ownership disputes (CQ 15) -----------------------------------------------------------------

@router.get("/open-list/disputes", response_class=HTMLResponse)
def disputes(request: Request, actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db)) -> Response:
    rows = disputes_for(db, actor)
    return _page(request, "disputes.html", rows=rows, workflow=DISPUTE,
                 cases={d.case_id: db.get(Case, d.case_id) for d in rows if d.case_id})


def _own_orgs(db: Session, actor: Principal) -> list[Organisation]:
    own = organisations_in_charge(db, actor)
    return [o for o in list_organisations(db) if o.id in own]


def _new_dispute_page(request: Request, db: Session, actor: Principal, form: dict[str, str] | None = None,
                      errors: dict[str, list[str]] | None = None, status: int = 200) -> Response:
    return _page(request, "dispute_new.html", status, own=_own_orgs(db, actor), orgs=list_organisations(db),
                 form=form or {}, errors=errors or {})


@router.get("/open-list/disputes/new", response_class=HTMLResponse)
def new_dispute(request: Request, actor: Principal = Depends(PROVIDER_STAFF),
                db: Session = Depends(get_db)) -> Response:
    return _new_dispute_page(request, db, actor)


def _org_by_id(db: Session, org_id: str) -> Organisation | None:
    return db.get(Organisation, org_id) if org_id else None


@router.post("/open-list/disputes/new")
def open_dispute(request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(PROVIDER_STAFF), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    claimant = _org_by_id(db, form.get("claimant", ""))
    if claimant is None:
        raise NotFound(_("No such organisation."))
    try:
        entry = _disputed_entry(db, actor, form.get("entry", ""))
        dispute = do_open_dispute(db, settings, actor, claimant, _org_by_id(db, form.get("respondent", "")),
                                  form.get("resource", ""), form.get("claim", ""), entry)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _new_dispute_page(request, db, actor, form, exc.fields, 422)
    flash(request, _("The dispute is opened; negotiate with the other provider first."))
    return _redirect(f"/open-list/disputes/{dispute.id}")


def _disputed_entry(db: Session, actor: Principal, name: str) -> CatalogEntry | None:
    if not name:
        return None
    try:
        return access_entry(db, actor, name)
    except NotFound:
        raise ValidationFailed.single("entry", _("No such dataset.")) from None


def _dispute_page(request: Request, db: Session, actor: Principal, dispute_id: str,
                  errors: dict[str, list[str]] | None = None, status: int = 200) -> Response:
    dispute = access_dispute(db, actor, dispute_id)
    case = db.get(Case, dispute.case_id) if dispute.case_id else None
    return _page(request, "dispute.html", status, dispute=dispute, case=case, workflow=DISPUTE,
                 steps=case_view(actor, case).transitions if case else [], thread=entries(db, case) if case else [],
                 resolving=RESOLVED_STATES, errors=errors or {})


@router.get("/open-list/disputes/{dispute_id}", response_class=HTMLResponse)
def dispute_detail(dispute_id: str, request: Request, actor: Principal = Depends(CATALOG_STAFF),
                   db: Session = Depends(get_db)) -> Response:
    return _dispute_page(request, db, actor, dispute_id)


@router.post("/open-list/disputes/{dispute_id}/steps/{step}")
def dispute_step(dispute_id: str, step: str, request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    dispute = access_dispute(db, actor, dispute_id)
    return _write(request, db,
                  lambda: do_dispute_step(db, settings, actor, dispute, step, form.get("reason", ""),
                                          form.get("owner", "")),
                  _("Done. The dispute is updated."), f"/open-list/disputes/{dispute_id}",
                  lambda errors, status: _dispute_page(request, db, actor, dispute_id, errors, status))


# --- Lists derived from the open catalog ------------------------------------------------------------

@router.get("/open-list/responsibilities", response_class=HTMLResponse)
def responsibilities(request: Request, actor: Principal = Depends(CATALOG_STAFF),
                     db: Session = Depends(get_db)) -> Response:
    return _page(request, "responsibilities.html", providers=providers_with_duties(db, actor))


@router.get("/open-list/responsibilities/{slug}", response_class=HTMLResponse)
def responsibility(slug: str, request: Request, actor: Principal = Depends(CATALOG_STAFF),
                   db: Session = Depends(get_db)) -> Response:
    org = access_organisation(db, actor, slug)
    return _page(request, "responsibility.html", org=org, duties=responsibility_list(db, actor, org))


@router.get("/open-list/focus", response_class=HTMLResponse)
def focus(request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> Response:
    return _page(request, "focus.html", entries=focus_entries(db, actor))


@router.get("/open-list/not-open", response_class=HTMLResponse)
def not_open(request: Request, actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db)) -> Response:
    return _page(request, "not_open.html", rows=not_open_entries(db, actor))


@router.post("/open-list/not-open/{name}")
def assess_not_open(name: str, request: Request, form: dict[str, str] = Depends(form_data),
                    actor: Principal = Depends(CATALOG_STAFF), db: Session = Depends(get_db)) -> Response:
    entry = access_entry(db, actor, name)
    back = safe_next(form.get("next", ""), "/open-list/not-open")

    def refused(errors: dict[str, list[str]], status: int) -> Response:
        for messages in errors.values():
            flash(request, " ".join(messages), "error")
        return _redirect(back)

    return _write(request, db, lambda: do_record_nonopen_review(db, actor, entry, form.get("note", "")),
                  _("The assessment is recorded."), back, refused)
