"""Pages of conditional access around the dataset: the access panel on the dataset page, the
application form, my applications, the provider's applications and the authority's review queue.
The application page itself lives in ``application_case``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kaifang.access.models import Grant
from kaifang.access.scope import grants_of
from kaifang.applications.actions import Upload, do_apply, refuse_applying
from kaifang.applications.forms import ApplicationInput
from kaifang.applications.models import Application
from kaifang.applications.queries import (
    latest_application,
    my_applications,
    provider_applications,
    renewable,
    review_queue,
)
from kaifang.applications.workflows import APPLICATION
from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.attachments import MAX_ATTACHMENT_BYTES
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry
from kaifang.catalog.visibility import can_edit
from kaifang.catalog.vocab import ACCESS_MODE_LABELS, EntryStatus, OpenType
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.http.access import LOGGED_IN, Access
from kaifang.http.deps import get_db, get_settings
from kaifang.i18n import _
from kaifang.web.templating import flash, render

router = APIRouter()

PROVIDER = Access("provider_user", lambda p: p.is_provider_user())
AUTHORITY = Access("role:authority_reviewer", lambda p: p.has_role(Role.AUTHORITY_REVIEWER))
DEFAULT_DAYS = 365


async def full_form(request: Request) -> FormData:
    """Every field, repeated check boxes and files included (the CSRF check read the form already)."""
    return await request.form()


def text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, key: str) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str) and v]


def workdays_left(db: Session, apps: list[Application]) -> dict[str, int]:
    calendar, today = load_calendar(db), china_today()
    return {a.id: calendar.workdays_between(today, a.case.due_date) for a in apps
            if a.case.due_date and a.case.is_open}


def panel_context(request: Request, db: Session, actor: Principal, entry: CatalogEntry) -> dict[str, Any]:
    """The conditional-access panel: apply (or why not), my application, my grant."""
    if entry.open_type != OpenType.CONDITIONAL or entry.status != EntryStatus.PUBLISHED:
        return {}
    today = china_today()
    grants = grants_of(db, entry.id, actor.id) if actor.is_authenticated else []
    grant = next((g for g in grants if g.in_force_on(today)), grants[0] if grants else None)
    return {"access_panel": {
        "application": latest_application(db, entry.id, actor.id) if actor.is_authenticated else None,
        "grant": grant, "grant_in_force": grant is not None and grant.in_force_on(today),
        "renew": grant is not None and (renewable(grant, today) or grant.valid_until < today),
        "refusal": refuse_applying(db, actor, entry), "hint": _hint(db, actor, entry),
        "is_provider": can_edit(db, actor, entry),
        "workflow": APPLICATION, "mode_labels": ACCESS_MODE_LABELS,
        "titles": {i.name: i.title or i.name for i in entry.items},
    }}


def _hint(db: Session, actor: Principal, entry: CatalogEntry) -> str:
    """What the panel asks of a visitor who cannot apply yet."""
    if not actor.is_authenticated:
        return "login"
    if not can_edit(db, actor, entry) and not actor.is_verified:
        return "verify"
    return ""


def _renewal_values(db: Session, actor: Principal, entry: CatalogEntry, grant_id: str) -> dict[str, Any]:
    """The form pre-filled from an expiring grant's application: the next period of the same length."""
    grant = db.get(Grant, grant_id)
    if grant is None or grant.user_id != actor.id or grant.entry_id != entry.id:
        return {}
    previous = db.get(Application, grant.application_id) if grant.application_id else None
    start = max(china_today(), grant.valid_until + dt.timedelta(days=1))
    length = grant.valid_until - grant.valid_from
    values: dict[str, Any] = {"columns": list(grant.columns), "modes": list(grant.modes), "renews_grant_id": grant.id,
                              "use_from": start.isoformat(), "use_until": (start + length).isoformat()}
    if previous is not None:
        values.update(purpose=previous.purpose, scenario=previous.scenario,
                      security_measures=previous.security_measures)
    return values


def _apply_page(request: Request, entry: CatalogEntry, values: dict[str, Any], status: int = 200,
                errors: dict[str, list[str]] | None = None, refusal: str | None = None) -> Response:
    return render(request, "applications/apply.html", {
        "entry": entry, "v": values, "errors": errors or {}, "refusal": refusal, "mode_labels": ACCESS_MODE_LABELS,
        "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024), "workflow": APPLICATION,
    }, status)


def _conditional(db: Session, actor: Principal, name: str) -> CatalogEntry:
    entry = access_entry(db, actor, name)
    if entry.open_type != OpenType.CONDITIONAL:
        raise NotFound(_("No such dataset."))
    return entry


@router.get("/datasets/{name}/apply", response_class=HTMLResponse)
def apply_form(name: str, request: Request, renew: str = "", actor: Principal = Depends(LOGGED_IN),
               db: Session = Depends(get_db)) -> Response:
    entry = _conditional(db, actor, name)
    today = china_today()
    values: dict[str, Any] = {"columns": [i.name for i in entry.items], "modes": list(entry.access_modes),
                              "use_from": today.isoformat(),
                              "use_until": (today + dt.timedelta(days=DEFAULT_DAYS)).isoformat()}
    if renew:
        values.update(_renewal_values(db, actor, entry, renew))
    return _apply_page(request, entry, values, refusal=refuse_applying(db, actor, entry))


def _input(form: FormData) -> ApplicationInput:
    return ApplicationInput(columns=texts(form, "columns"), modes=texts(form, "modes"), purpose=text(form, "purpose"),
                            scenario=text(form, "scenario"), security_measures=text(form, "security_measures"),
                            use_from=text(form, "use_from"), use_until=text(form, "use_until"),
                            renews_grant_id=text(form, "renews_grant_id"))


def _uploads(form: FormData) -> list[Upload]:
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    return [(f.filename or "", f.content_type or "", f.file) for f in files]


@router.post("/datasets/{name}/apply")
def submit_application(name: str, request: Request, form: FormData = Depends(full_form),
                       actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                       settings: Settings = Depends(get_settings)) -> Response:
    entry = _conditional(db, actor, name)
    data = _input(form)
    values = {**data.__dict__, "columns": list(data.columns), "modes": list(data.modes)}
    try:
        app = do_apply(db, settings, actor, entry, data, _uploads(form))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        fields = dict(exc.fields)
        if "file" in fields:
            fields["files"] = fields.pop("file")
        return _apply_page(request, entry, values, 422, fields)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        return _apply_page(request, entry, values, exc.status_code, refusal=exc.message)
    flash(request, _("Your application is registered. The provider answers within %(n)s working days.",
                     n=app.case.clock.amount if app.case.clock else 10))
    return RedirectResponse(f"/applications/{app.id}", status_code=303)


@router.get("/applications", response_class=HTMLResponse)
def mine(request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    apps = my_applications(db, actor)
    return render(request, "applications/list.html", {
        "apps": apps, "left": workdays_left(db, apps), "workflow": APPLICATION, "grants": _grants_by_id(db, apps),
        "today": china_today()})


def _grants_by_id(db: Session, apps: list[Application]) -> dict[str, Grant]:
    found = {}
    for app in apps:
        grant = db.get(Grant, app.grant_id) if app.grant_id else None
        if grant is not None:
            found[app.id] = grant
    return found


@router.get("/applications/received", response_class=HTMLResponse)
def received(request: Request, show: str = "", actor: Principal = Depends(PROVIDER),
             db: Session = Depends(get_db)) -> Response:
    apps = provider_applications(db, actor, open_only=show != "all")
    return render(request, "applications/received.html", {
        "apps": apps, "left": workdays_left(db, apps), "workflow": APPLICATION, "show_all": show == "all"})


@router.get("/applications/review", response_class=HTMLResponse)
def authority_queue(request: Request, actor: Principal = Depends(AUTHORITY), db: Session = Depends(get_db)) -> Response:
    apps = review_queue(db, actor)
    return render(request, "applications/review_queue.html", {"apps": apps, "workflow": APPLICATION})
