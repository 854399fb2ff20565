"""The application page: details, the provider's decision (columns, row filter, modes, period,
feedback), the agreement with both parties' acceptance, the authority's review, the case thread;
and the agreement as a page and as a PDF."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from kaifang.access.grants import entry_columns
from kaifang.access.models import GRANT_STATUS_LABELS, Grant
from kaifang.access.query import OPERATORS
from kaifang.applications.actions import do_approve, do_step
from kaifang.applications.agreements import ACCEPTANCE_EVENT_LABELS, do_accept_agreement, do_review_agreement
from kaifang.applications.forms import FEEDBACK_CHOICES, ConditionInput, DecisionInput
from kaifang.applications.models import PARTY_LABELS, Application, Party
from kaifang.applications.pdf import agreement_pdf
from kaifang.applications.queries import access_application, application_view
from kaifang.applications.workflows import APPLICATION
from kaifang.auth.permissions import Principal
from kaifang.cases.actions import do_attach_file, do_post_message
from kaifang.cases.attachments import MAX_ATTACHMENT_BYTES
from kaifang.cases.clocks import china_today
from kaifang.cases.models import SYSTEM_EVENT_LABELS
from kaifang.cases.queries import entries
from kaifang.cases.workflow import CASE_ROLE_LABELS
from kaifang.catalog.vocab import ACCESS_MODE_LABELS
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import get_db, get_settings
from kaifang.i18n import N_, _
from kaifang.web.routes.applications import full_form, text, texts, workdays_left
from kaifang.web.templating import flash, render

router = APIRouter()

CONDITION_KEY = re.compile(r"^cond-(\d{1,2})-(column|op|value)$")
BLANK_CONDITIONS = 2
MAX_CONDITIONS = 30
STEP_DONE = {
    "ask_info": N_("Your questions are sent. The clock stands still until the applicant answers."),
    "supplement": N_("The information is sent. The provider's clock runs again."),
    "reject": N_("The application is rejected with your reasons."),
    "withdraw": N_("The application is withdrawn."),
}


def _redirect(app: Application) -> RedirectResponse:
    return RedirectResponse(f"/applications/{app.id}", status_code=303)


def _default_decision(app: Application) -> dict[str, Any]:
    start = max(china_today(), app.use_from)
    return {"columns": list(app.columns), "modes": [m for m in app.modes if m in (app.entry.access_modes or [])],
            "valid_from": start.isoformat(), "valid_until": app.use_until.isoformat(), "feedback_every_months": "0",
            "conditions": [{"column": "", "op": "eq", "value": ""} for _n in range(BLANK_CONDITIONS)], "note": ""}


def _grant(db: Session, app: Application) -> Grant | None:
    return db.get(Grant, app.grant_id) if app.grant_id else None


def application_page(request: Request, db: Session, actor: Principal, app: Application, status: int = 200,
                     errors: dict[str, list[str]] | None = None, form: dict[str, Any] | None = None,
                     decision: dict[str, Any] | None = None) -> Response:
    view = application_view(actor, app)
    columns = entry_columns(db, app.entry)
    grant = _grant(db, app)
    return render(request, "applications/detail.html", {
        "app": app, "case": app.case, "entry": app.entry, "view": view, "workflow": APPLICATION,
        "entries": entries(db, app.case), "left": workdays_left(db, [app]).get(app.id),
        "event_labels": {**SYSTEM_EVENT_LABELS, **ACCEPTANCE_EVENT_LABELS}, "role_labels": CASE_ROLE_LABELS,
        "titles": {name: col.title or name for name, col in columns.items()},
        "mode_labels": ACCESS_MODE_LABELS, "feedback_labels": FEEDBACK_CHOICES, "operators": OPERATORS,
        "party_labels": PARTY_LABELS, "parties": list(Party), "agreement": app.agreement,
        "decision": decision or _default_decision(app), "grant": grant,
        "grant_in_force": grant is not None and grant.in_force_on(china_today()),
        "grant_status_labels": GRANT_STATUS_LABELS,
        "errors": errors or {}, "form": form or {}, "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }, status)


def _attempt(request: Request, db: Session, actor: Principal, app: Application, action: Callable[[], object],
             done: str, *, form: dict[str, Any] | None = None, decision: dict[str, Any] | None = None,
             field_names: Callable[[str], str] = lambda name: name) -> Response:
    """Runs one write: commit and go back to the application, or show why not on its page."""
    try:
        action()
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        errors = {field_names(name): messages for name, messages in exc.fields.items()}
        return application_page(request, db, actor, access_application(db, actor, app.id), 422, errors, form,
                                decision)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return application_page(request, db, actor, access_application(db, actor, app.id), exc.status_code,
                                form=form, decision=decision)
    flash(request, done)
    return _redirect(app)


@router.get("/applications/{application_id}", response_class=HTMLResponse)
def application_detail(application_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                       db: Session = Depends(get_db)) -> Response:
    return application_page(request, db, actor, access_application(db, actor, application_id))


@router.post("/applications/{application_id}/steps/{step}")
def take_step(application_id: str, step: str, request: Request, form: FormData = Depends(full_form),
              actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    reason = text(form, "reason")
    return _attempt(request, db, actor, app, lambda: do_step(db, settings, actor, app, step, reason),
                    _(STEP_DONE.get(step, N_("Done."))), form={f"reason_{step}": reason},
                    field_names=lambda name: f"reason_{step}" if name == "reason" else name)


def _conditions(form: FormData) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key in form:
        match = CONDITION_KEY.match(key)
        if match:
            row = rows.setdefault(int(match.group(1)), {"column": "", "op": "eq", "value": ""})
            row[match.group(2)] = text(form, key)
    return [rows[i] for i in sorted(rows)][:MAX_CONDITIONS]


def _decision_values(form: FormData) -> dict[str, Any]:
    return {"columns": texts(form, "columns"), "modes": texts(form, "modes"), "valid_from": text(form, "valid_from"),
            "valid_until": text(form, "valid_until"), "note": text(form, "note"),
            "feedback_every_months": text(form, "feedback_every_months"), "conditions": _conditions(form)}


def _decision_input(values: dict[str, Any]) -> DecisionInput:
    return DecisionInput(columns=values["columns"], modes=values["modes"], valid_from=values["valid_from"],
                         valid_until=values["valid_until"], feedback_every_months=values["feedback_every_months"],
                         conditions=tuple(ConditionInput(**c) for c in values["conditions"]), note=values["note"])


def _condition_errors(name: str, conditions: list[dict[str, str]]) -> str:
    """check_scope names a filter's problem by its position among the conditions filled in; the
    page names it by its row."""
    if not name.startswith("row_filter."):
        return name
    filled = [i for i, c in enumerate(conditions) if not ConditionInput(**c).blank]
    index = int(name.split(".", 1)[1])
    return f"cond-{filled[index]}" if index < len(filled) else name


@router.post("/applications/{application_id}/decision")
def decide(application_id: str, request: Request, form: FormData = Depends(full_form),
           actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    values = _decision_values(form)
    if text(form, "action") == "add_condition":
        values["conditions"].append({"column": "", "op": "eq", "value": ""})
        return application_page(request, db, actor, app, decision=values)
    return _attempt(request, db, actor, app, lambda: do_approve(db, settings, actor, app, _decision_input(values)),
                    _("Approved. Both parties now accept the data-use agreement."), decision=values,
                    field_names=lambda name: _condition_errors(name, values["conditions"]))


@router.post("/applications/{application_id}/agreement/accept")
def accept(application_id: str, request: Request, form: FormData = Depends(full_form),
           actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    return _attempt(request, db, actor, app,
                    lambda: do_accept_agreement(db, settings, actor, app, text(form, "sha256")),
                    _("You have accepted the data-use agreement."))


@router.post("/applications/{application_id}/review/{outcome}")
def review(application_id: str, outcome: str, request: Request, form: FormData = Depends(full_form),
           actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    if outcome not in ("approve", "reject"):
        raise NotFound(_("No such page."))
    approve, reason = outcome == "approve", text(form, "reason")
    return _attempt(request, db, actor, app,
                    lambda: do_review_agreement(db, settings, actor, app, approve, reason),
                    _("The agreement is approved; the data is open as agreed.") if approve
                    else _("The agreement is not approved; no data is opened."),
                    form={"review_reason": reason}, field_names=lambda name: f"review_{name}")


@router.post("/applications/{application_id}/messages")
def post_message(application_id: str, request: Request, form: FormData = Depends(full_form),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    body = text(form, "body")
    return _attempt(request, db, actor, app, lambda: do_post_message(db, settings, actor, app.case, body),
                    _("Your message is posted."), form={"body": body})


@router.post("/applications/{application_id}/attachments")
def attach(application_id: str, request: Request, form: FormData = Depends(full_form),
           actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    app = access_application(db, actor, application_id)
    upload = form.get("file")

    def store() -> object:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise ValidationFailed.single("file", _("Choose a file to attach."))
        return do_attach_file(db, settings, actor, app.case, upload.filename, upload.content_type or "",
                              upload.file, text(form, "note"))

    return _attempt(request, db, actor, app, store, _("The file is attached."))


@router.get("/applications/{application_id}/agreement", response_class=HTMLResponse)
def agreement_page(application_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                   db: Session = Depends(get_db)) -> Response:
    app = access_application(db, actor, application_id)
    if app.agreement is None:
        raise NotFound(_("No agreement has been made for this application yet."))
    return render(request, "applications/agreement.html", {
        "app": app, "agreement": app.agreement, "parties": list(Party), "party_labels": PARTY_LABELS,
        "workflow": APPLICATION})


@router.get("/applications/{application_id}/agreement.pdf")
def agreement_file(application_id: str, actor: Principal = Depends(LOGGED_IN),
                   db: Session = Depends(get_db)) -> Response:
    app = access_application(db, actor, application_id)
    if app.agreement is None:
        raise NotFound(_("No agreement has been made for this application yet."))
    return Response(agreement_pdf(app.agreement), media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="agreement-{app.agreement.number}.pdf"',
        "X-Content-Type-Options": "nosniff"})
