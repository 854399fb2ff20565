"""Cases: my tasks, opening a contact case, the case page with its thread and the steps the
viewer may take, attachments, extensions, the clock, notifications."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from kaifang.auth.permissions import Principal
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.actions import (
    do_approve_extension,
    do_attach_file,
    do_mark_read,
    do_open_case,
    do_pause_clock,
    do_post_message,
    do_request_extension,
    do_resume_clock,
    do_transition,
)
from kaifang.cases.attachments import MAX_ATTACHMENT_BYTES, stored_file
from kaifang.cases.clocks import china_today
from kaifang.cases.models import EXTENSION_STATUS_LABELS, SYSTEM_EVENT_LABELS, Case
from kaifang.cases.queries import (
    access_attachment,
    access_case,
    case_view,
    entries,
    inbox,
    my_cases,
    notifications,
    unread_count,
)
from kaifang.cases.workflow import CASE_ROLE_LABELS, get
from kaifang.cases.workflows.contact import CONTACT
from kaifang.config import Settings
from kaifang.errors import Conflict, Forbidden, ValidationFailed
from kaifang.http.access import LOGGED_IN
from kaifang.http.deps import form_data, get_db, get_settings
from kaifang.i18n import _
from kaifang.web.templating import flash, render

router = APIRouter()

# Types a browser may show inline; everything else is offered as a download.
INLINE_TYPES = {"application/pdf", "image/png", "image/jpeg", "image/gif", "text/plain"}


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


async def upload(request: Request) -> UploadFile | None:
    """The ``file`` field of a multipart form (the CSRF check has parsed the form already)."""
    form = await request.form()
    value = form.get("file")
    return value if isinstance(value, UploadFile) and value.filename else None


def _workdays_left(db: Session, cases: list[Case]) -> dict[str, int]:
    calendar, today = load_calendar(db), china_today()
    return {c.id: calendar.workdays_between(today, c.due_date) for c in cases if c.due_date and c.is_open}


@router.get("/tasks", response_class=HTMLResponse)
def tasks(request: Request, actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    waiting, mine = inbox(db, actor), my_cases(db, actor)
    return render(request, "cases/tasks.html", {
        "waiting": waiting, "mine": mine, "left": _workdays_left(db, waiting + mine),
        "notifications": notifications(db, actor, 20), "unread": unread_count(db, actor),
        "workflow_of": get,
    })


@router.post("/notifications/read")
def read_notifications(request: Request, form: dict[str, str] = Depends(form_data),
                       actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db)) -> Response:
    do_mark_read(db, actor, form.get("notification_id") or None)
    db.commit()
    return _redirect("/tasks")


@router.get("/cases/new", response_class=HTMLResponse)
def new_case(request: Request, actor: Principal = Depends(LOGGED_IN)) -> Response:
    return render(request, "cases/new.html", {"workflow": CONTACT})


@router.post("/cases/new")
def open_case(request: Request, form: dict[str, str] = Depends(form_data), actor: Principal = Depends(LOGGED_IN),
              db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    try:
        case = do_open_case(db, settings, actor, CONTACT.key, form.get("title", ""), form.get("body", ""))
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return render(request, "cases/new.html", {"workflow": CONTACT, "form": form, "errors": exc.fields}, 422)
    flash(request, _("Your message is registered. You will be notified when it is answered."))
    return _redirect(f"/cases/{case.id}")


def _case_page(request: Request, db: Session, actor: Principal, case: Case, status: int = 200,
               errors: dict[str, list[str]] | None = None, form: dict[str, str] | None = None) -> Response:
    return render(request, "cases/detail.html", {
        "case": case, "view": case_view(actor, case), "entries": entries(db, case),
        "left": _workdays_left(db, [case]).get(case.id), "role_labels": CASE_ROLE_LABELS,
        "event_labels": SYSTEM_EVENT_LABELS, "extension_labels": EXTENSION_STATUS_LABELS,
        "errors": errors or {}, "form": form or {}, "max_mb": MAX_ATTACHMENT_BYTES // (1024 * 1024),
    }, status)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_detail(case_id: str, request: Request, actor: Principal = Depends(LOGGED_IN),
                db: Session = Depends(get_db)) -> Response:
    case = access_case(db, actor, case_id)
    own_page = get(case.workflow).detail_path
    if own_page:  # a domain that shows its cases on its own page (applications)
        return _redirect(own_page.format(id=case.id))
    return _case_page(request, db, actor, case)


def _attempt(request: Request, db: Session, actor: Principal, case: Case, form: dict[str, str],
             action: Callable[[], object], done: str) -> Response:
    """Runs one write on the case: commit and go back to the case, or show why not on its page."""
    try:
        action()
        db.commit()
    except ValidationFailed as exc:
        db.rollback()
        return _case_page(request, db, actor, access_case(db, actor, case.id), 422, exc.fields, form)
    except (Conflict, Forbidden) as exc:
        db.rollback()
        flash(request, exc.message, "error")
        return _case_page(request, db, actor, access_case(db, actor, case.id), exc.status_code)
    flash(request, done)
    return _redirect(f"/cases/{case.id}")


@router.post("/cases/{case_id}/transitions/{name}")
def take_step(case_id: str, name: str, request: Request, form: dict[str, str] = Depends(form_data),
              actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)
    return _attempt(request, db, actor, case, form,
                    lambda: do_transition(db, settings, actor, case, name, form.get("reason", "")),
                    _("Done. The case is updated."))


@router.post("/cases/{case_id}/messages")
def post_message(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
                 actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                 settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)
    return _attempt(request, db, actor, case, form,
                    lambda: do_post_message(db, settings, actor, case, form.get("body", "")),
                    _("Your message is posted."))


@router.post("/cases/{case_id}/attachments")
def attach(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
           file: UploadFile | None = Depends(upload), actor: Principal = Depends(LOGGED_IN),
           db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)

    def store() -> object:
        if file is None:
            raise ValidationFailed.single("file", _("Choose a file to attach."))
        return do_attach_file(db, settings, actor, case, file.filename or "", file.content_type or "",
                              file.file, form.get("note", ""))

    return _attempt(request, db, actor, case, form, store, _("The file is attached."))


@router.get("/cases/{case_id}/attachments/{attachment_id}")
def download(case_id: str, attachment_id: str, actor: Principal = Depends(LOGGED_IN),
             db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> Response:
    row = access_attachment(db, actor, case_id, attachment_id)
    inline = row.content_type in INLINE_TYPES
    return FileResponse(
        stored_file(settings, row.stored_path), filename=row.file_name,
        media_type=row.content_type if inline else "application/octet-stream",
        content_disposition_type="inline" if inline else "attachment",
        headers={"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"},
    )


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


@router.post("/cases/{case_id}/extension")
def request_extension(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
                      actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                      settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)
    return _attempt(request, db, actor, case, form,
                    lambda: do_request_extension(db, settings, actor, case, _int(form.get("days", "")),
                                                 form.get("reason", "")),
                    _("The extension is requested."))


@router.post("/cases/{case_id}/extension/decision")
def decide_extension(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
                     actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
                     settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)
    approve = form.get("decision") == "approve"
    return _attempt(request, db, actor, case, form,
                    lambda: do_approve_extension(db, settings, actor, case, approve, form.get("note", "")),
                    _("The extension is approved.") if approve else _("The extension is declined."))


@router.post("/cases/{case_id}/clock")
def set_clock(case_id: str, request: Request, form: dict[str, str] = Depends(form_data),
              actor: Principal = Depends(LOGGED_IN), db: Session = Depends(get_db),
              settings: Settings = Depends(get_settings)) -> Response:
    case = access_case(db, actor, case_id)
    pause = form.get("action") == "pause"
    action = do_pause_clock if pause else do_resume_clock
    return _attempt(request, db, actor, case, form,
                    lambda: action(db, settings, actor, case, form.get("reason", "")),
                    _("The clock is stopped.") if pause else _("The clock is running again."))
