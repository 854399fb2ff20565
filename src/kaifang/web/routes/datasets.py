"""Dataset pages: an entry's detail, its create and edit forms (with data item rows), submission,
withdrawal and the authority's review steps."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kaifang.access.withdrawal import do_withdraw_dataset
from kaifang.auth.models import Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import access_organisation
from kaifang.cases.models import SYSTEM_EVENT_LABELS, Case
from kaifang.cases.queries import case_view, entries, may_see
from kaifang.cases.workflow import Transition
from kaifang.cases.workflow import get as workflow_of
from kaifang.catalog import vocab
from kaifang.catalog.actions import EDITABLE, do_create_entry, do_update_entry
from kaifang.catalog.changes import CAUSE_LABELS, open_change
from kaifang.catalog.forms import DataItemInput, EntryInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry, access_entry_for_edit, entry_cases, revisions_of
from kaifang.catalog.review import (
    SUBMITTABLE,
    do_review_step,
    do_submit_entry,
    may_follow_review,
    review_case,
)
from kaifang.catalog.taxonomy import list_domains
from kaifang.catalog.visibility import can_edit, organisations_in_charge
from kaifang.catalog.workflows import REVIEW
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, ValidationFailed
from kaifang.http.access import LOGGED_IN, PUBLIC, Access
from kaifang.http.deps import form_data, get_db, get_settings
from kaifang.i18n import N_, _, get_locale
from kaifang.web.routes import applications as application_pages
from kaifang.web.routes import data_pages
from kaifang.web.routes import grants as grant_pages
from kaifang.web.templating import flash, render

router = APIRouter()

AUTHORITY = Access("role:authority_reviewer", lambda p: p.has_role(Role.AUTHORITY_REVIEWER))
LABELS = {
    "open_type": vocab.OPEN_TYPE_LABELS, "status": vocab.ENTRY_STATUS_LABELS,
    "update_frequency": vocab.UPDATE_FREQUENCY_LABELS, "access_mode": vocab.ACCESS_MODE_LABELS,
    "security_grade": vocab.SECURITY_GRADE_LABELS, "share_type": vocab.SHARE_TYPE_LABELS,
    "item_type": vocab.ITEM_TYPE_LABELS, "sensitivity": vocab.SENSITIVITY_LABELS, "formats": vocab.FORMATS,
}
OPEN_TYPE_CLASS = {"unconditional": "ok", "conditional": "warn", "non_open": "bad"}
ITEM_FIELDS = ("name", "title", "type", "description", "sensitivity")
ITEM_KEY = re.compile(r"^items-(\d{1,3})-(\w+)$")
KEYWORD_SPLIT = re.compile(r"[,，;；、\s]+")
BLANK_ITEM = {"name": "", "title": "", "type": "string", "description": "", "sensitivity": "none"}


async def full_form(request: Request) -> FormData:
    """Every field of the form, repeated ones (check boxes) included; the CSRF check read it already."""
    return await request.form()


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def item_rows(form: FormData) -> list[dict[str, str]]:
    """The data item rows as posted, blank ones included, in their order on the page."""
    indexes = sorted({int(m.group(1)) for key in form if (m := ITEM_KEY.match(key))})
    return [{f: _text(form, f"items-{i}-{f}") or BLANK_ITEM[f] for f in ITEM_FIELDS} for i in indexes]


def _blank(row: dict[str, str]) -> bool:
    return not (row["name"] or row["title"] or row["description"])


def entry_input(form: FormData) -> EntryInput:
    lists = {k: [v for v in form.getlist(k) if isinstance(v, str) and v] for k in ("access_modes", "formats")}
    return EntryInput(
        name=_text(form, "name"), title=_text(form, "title"), summary=_text(form, "summary"),
        domain_code=_text(form, "domain_code"), open_type=_text(form, "open_type"),
        update_frequency=_text(form, "update_frequency"), title_en=_text(form, "title_en"),
        open_conditions=_text(form, "open_conditions"), legal_basis=_text(form, "legal_basis"),
        security_grade=_text(form, "security_grade"), access_modes=lists["access_modes"],
        share_type=_text(form, "share_type"), share_conditions=_text(form, "share_conditions"),
        licence=_text(form, "licence"), formats=lists["formats"],
        keywords=[k for k in KEYWORD_SPLIT.split(_text(form, "keywords")) if k],
        temporal_start=_text(form, "temporal_start"), temporal_end=_text(form, "temporal_end"),
        spatial_coverage=_text(form, "spatial_coverage"), annual_focus=_text(form, "annual_focus") == "1",
        items=[DataItemInput(**row) for row in item_rows(form) if not _blank(row)],
    )


def input_of(entry: CatalogEntry) -> EntryInput:
    """The form's values for an existing entry."""
    dates = (d.isoformat() if d else "" for d in (entry.temporal_start, entry.temporal_end))
    return EntryInput(
        name=entry.name, title=entry.title, summary=entry.summary, domain_code=entry.domain_code or "",
        open_type=entry.open_type, update_frequency=entry.update_frequency, title_en=entry.title_en,
        open_conditions=entry.open_conditions, legal_basis=entry.legal_basis, security_grade=entry.security_grade,
        access_modes=list(entry.access_modes), share_type=entry.share_type,
        share_conditions=entry.share_conditions, licence=entry.licence, formats=list(entry.formats),
        keywords=list(entry.keywords), temporal_start=next(dates), temporal_end=next(dates),
        spatial_coverage=entry.spatial_coverage, annual_focus=entry.annual_focus,
        items=[DataItemInput(i.name, i.type, i.title, i.description, i.sensitivity) for i in entry.items],
    )


def rows_of(data: EntryInput, blanks: int = 1) -> list[dict[str, str]]:
    return [{f: getattr(item, f) for f in ITEM_FIELDS} for item in data.items] + [dict(BLANK_ITEM)] * blanks


def row_change(form: FormData) -> list[dict[str, str]] | None:
    """The rows after an "add another item" or "remove" button, or None when the form was saved."""
    rows = item_rows(form)
    if _text(form, "action") == "add_item":
        return [*rows, dict(BLANK_ITEM)]
    remove = _text(form, "remove_item")
    if remove.isdigit() and int(remove) < len(rows):
        return rows[:int(remove)] + rows[int(remove) + 1:]
    return None


def form_context(db: Session, data: EntryInput, rows: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    chinese = get_locale() == "zh_CN"
    domains = {d.code: d.name if chinese or not d.name_en else d.name_en for d in list_domains(db)}
    return {"v": data, "rows": rows, "domain_options": domains, "labels": LABELS, "errors": {},
            "format_options": {f: f for f in vocab.FORMATS}, "keywords": "、".join(data.keywords), **extra}


def _form_page(request: Request, db: Session, data: EntryInput, rows: list[dict[str, str]], status: int = 200,
               **extra: Any) -> Response:
    return render(request, "datasets/form.html", form_context(db, data, rows, **extra), status)


def _in_charge(db: Session, actor: Principal, slug: str) -> Organisation:
    org = access_organisation(db, actor, slug)
    if org.id not in organisations_in_charge(db, actor):
        raise Forbidden(_("You do not have permission to do this."))
    return org


@router.get("/organisations/{slug}/datasets/new", response_class=HTMLResponse)
def new_entry(slug: str, request: Request, actor: Principal = Depends(LOGGED_IN),
              db: Session = Depends(get_db)) -> Response:
    org = _in_charge(db, actor, slug)
    data = EntryInput(name="", title="", summary="", domain_code="", open_type="", update_frequency="",
                      access_modes=["download"], formats=["CSV"])
    return _form_page(request, db, data, rows_of(data, 3), org=org, action=f"/organisations/{slug}/datasets/new")


@router.post("/organisations/{slug}/datasets/new")
def create_entry(slug: str, request: Request, form: FormData = Depends(full_form),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    org = _in_charge(db, actor, slug)
    data, action = entry_input(form), f"/organisations/{slug}/datasets/new"
    rows = row_change(form)
    if rows is not None:
        return _form_page(request, db, data, rows, org=org, action=action)
    try:
        entry = do_create_entry(db, actor, org, data)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, db, data, rows_of(data), 422, org=org, action=action, errors=exc.fields)
    flash(request, _("The draft is saved. Submit it for review when it is complete."))
    return RedirectResponse(f"/datasets/{entry.name}", status_code=303)


@router.get("/datasets/{name}/edit", response_class=HTMLResponse)
def edit_entry(name: str, request: Request, actor: Principal = Depends(LOGGED_IN),
               db: Session = Depends(get_db)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    data = input_of(entry)
    return _form_page(request, db, data, rows_of(data), entry=entry, org=entry.provider,
                      action=f"/datasets/{name}/edit")


@router.post("/datasets/{name}/edit")
def update_entry(name: str, request: Request, form: FormData = Depends(full_form),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    data = entry_input(form)
    ctx: dict[str, Any] = {"entry": entry, "org": entry.provider, "action": f"/datasets/{name}/edit"}
    rows = row_change(form)
    if rows is not None:
        return _form_page(request, db, data, rows, **ctx)
    try:
        do_update_entry(db, actor, entry, data)
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, db, data, rows_of(data), 422, errors=exc.fields, **ctx)
    except Conflict as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return RedirectResponse(f"/datasets/{name}", status_code=303)
    flash(request, _("The changes are saved."))
    return RedirectResponse(f"/datasets/{name}", status_code=303)


def _history(db: Session, entry: CatalogEntry) -> list[dict[str, Any]]:
    return [{"case": case, "workflow": workflow_of(case.workflow), "entries": entries(db, case)}
            for case in entry_cases(db, entry)]


def _return_reason(history: list[dict[str, Any]], case: Case | None) -> str:
    """Why the current review returned the entry, shown where the provider acts on it."""
    for block in history:
        if case is not None and block["case"].id == case.id:
            reasons = [e.body for e in block["entries"] if e.transition == "return"]
            return reasons[-1] if reasons else ""
    return ""


# The decisive steps first, so the panel's main button approves or publishes.
STEP_ORDER = ("approve", "publish", "return", "request_opinion")


def _review_steps(actor: Principal, case: Case | None) -> list[Transition]:
    if case is None or not case.is_open:
        return []
    steps = case_view(actor, case).transitions
    return sorted(steps, key=lambda t: STEP_ORDER.index(t.name) if t.name in STEP_ORDER else len(STEP_ORDER))


def detail_context(db: Session, actor: Principal, entry: CatalogEntry) -> dict[str, Any]:
    follows = may_follow_review(db, actor, entry)
    editor = can_edit(db, actor, entry)
    case = review_case(db, entry) if follows else None
    authority = actor.has_role(Role.AUTHORITY_REVIEWER)
    change = open_change(db, entry) if follows else None
    history = _history(db, entry) if follows else []
    return {
        "entry": entry, "labels": LABELS, "open_class": OPEN_TYPE_CLASS, "follows": follows,
        "may_edit": editor and entry.status in EDITABLE,
        "may_manage_versions": editor,
        "may_submit": editor and entry.status in SUBMITTABLE,
        "may_withdraw": entry.status == vocab.EntryStatus.PUBLISHED and (editor or authority),
        "may_apply_change": editor and entry.status == vocab.EntryStatus.PUBLISHED
        and (change is None or change.proposed is None),
        "may_record_change": authority and entry.status == vocab.EntryStatus.PUBLISHED and not change,
        "open_change": change, "causes": CAUSE_LABELS,
        "review_state": REVIEW.state_label(case.state) if case else "",
        "case": case, "case_link": case is not None and may_see(db, actor, case),
        "steps": _review_steps(actor, case) if authority else [],
        "history": history, "revisions": revisions_of(db, entry) if follows else [],
        "return_reason": _return_reason(history, case) if entry.status == vocab.EntryStatus.RETURNED else "",
        "event_labels": SYSTEM_EVENT_LABELS,
    }


def _detail_page(request: Request, db: Session, actor: Principal, name: str, status: int = 200,
                 **extra: Any) -> Response:
    entry = access_entry(db, actor, name)
    # The data, conditional access and grant panels come from their own page modules.
    panels = {**data_pages.panel_context(request, db, actor, entry),
              **application_pages.panel_context(request, db, actor, entry),
              **grant_pages.panel_context(request, db, actor, entry)}
    return render(request, "datasets/detail.html", {**detail_context(db, actor, entry), **panels, **extra}, status)


@router.get("/datasets/{name}", response_class=HTMLResponse)
def entry_detail(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                 db: Session = Depends(get_db)) -> Response:
    return _detail_page(request, db, actor, name)


def safe_next(value: str, default: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else default


def attempt(request: Request, db: Session, actor: Principal, name: str, form: dict[str, str],
            action: Callable[[], object], done: str, link: tuple[str, str] | None = None) -> Response:
    """Runs one write on the entry: commit and go on, or show why not on the dataset page."""
    try:
        action()
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _detail_page(request, db, actor, name, 422, errors=exc.fields, form=form)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return _detail_page(request, db, actor, name, exc.status_code)
    flash(request, done, link=link)
    return RedirectResponse(safe_next(form.get("next", ""), f"/datasets/{name}"), status_code=303)


@router.post("/datasets/{name}/submit")
def submit_entry(name: str, request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry_for_edit(db, actor, name)
    return attempt(request, db, actor, name, form,
                   lambda: do_submit_entry(db, settings, actor, entry, form.get("note", "")),
                   _("The entry is submitted. The authority will review it."))


@router.post("/datasets/{name}/withdraw")
def withdraw_entry(name: str, request: Request, form: dict[str, str] = Depends(form_data),
                   actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    entry = access_entry(db, actor, name)
    # Who received the data is followed up from the list of recipients (LYG 26).
    return attempt(request, db, actor, name, form,
                   lambda: do_withdraw_dataset(db, actor, entry, form.get("reason", "")),
                   _("The entry is withdrawn from the open list and every grant of it is suspended."),
                   link=(f"/datasets/{name}/recipients", _("Follow up with everyone who received its data")))


REVIEW_DONE = {
    "approve": N_("Approved. Publish the entry to open it."), "publish": N_("Published on the open list."),
    "return": N_("Returned to the provider with your reasons."),
    "request_opinion": N_("The experts are asked for an opinion."),
}


@router.post("/datasets/{name}/review/{step}")
def review_step(name: str, step: str, request: Request, form: dict[str, str] = Depends(form_data),
                actor: Principal = Depends(AUTHORITY), db: Session = Depends(get_db),
                settings: Settings = Depends(get_settings)) -> Response:
    entry = access_entry(db, actor, name)
    return attempt(request, db, actor, name, form,
                   lambda: do_review_step(db, settings, actor, entry, step, form.get("reason", "")),
                   _(REVIEW_DONE.get(step, N_("Done."))))
