"""Writes. Each ``do_*`` records one audit event in the caller's transaction and never commits;
a refused action raises before anything is written, so it leaves no event."""

from __future__ import annotations

from typing import Any, BinaryIO

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kaifang.audit.actions import record
from kaifang.auth.models import Organisation, User
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.calendar.workdays import load_calendar
from kaifang.cases import rules
from kaifang.cases.attachments import MAX_ATTACHMENT_BYTES, clean_file_name, store_stream
from kaifang.cases.clocks import (
    china_today,
    pause_clock,
    refresh_due,
    resume_clock,
    start_clock,
    stop_clock,
)
from kaifang.cases.followers import after_step
from kaifang.cases.models import Case, CaseAttachment, CaseClock, CaseEntry, EntryKind, ExtensionStatus
from kaifang.cases.notifications import mark_read, notify
from kaifang.cases.queries import holders_of, parties
from kaifang.cases.roles import case_roles
from kaifang.cases.thread import add_entry, add_event
from kaifang.cases.workflow import Transition, Workflow, get
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import Conflict, FieldErrors, Forbidden, InvalidTransition
from kaifang.i18n import _

MAX_TITLE = 200
MAX_BODY = 20_000
TARGET = "case"


def _check_text(errors: FieldErrors, field: str, value: str, limit: int, required: bool = True) -> None:
    if required and not value.strip():
        errors.add(field, _("This field is required."))
    elif len(value) > limit:
        errors.add(field, _("At most %(max)s characters.", max=limit))


def _save(session: Session) -> None:
    """Flushes, turning a concurrent change of the same case into a polite conflict."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise Conflict(_("Someone else changed this case at the same time. Reload the page and try again.")) from exc


def _record(session: Session, actor: Principal | None, action: str, case: Case, **data: Any) -> None:
    base = {"workflow": case.workflow, "state": case.state,
            "due_date": case.due_date.isoformat() if case.due_date else None}
    record(session, actor, f"case.{action}", target_type=TARGET, target_id=case.id, data={**base, **data})


def do_open_case(
    session: Session, settings: Settings, actor: Principal, workflow_key: str, title: str, body: str,
    assignee_org: Organisation | None = None, assignee_user: User | None = None,
    subject: tuple[str, str] | None = None,
) -> Case:
    user = require_login(actor)
    wf = get(workflow_key)
    if not wf.may_open(actor):
        raise Forbidden(_("You may not open this kind of case."))
    return _open(session, settings, actor, user, wf, title, body, assignee_org, assignee_user, subject)


def do_open_case_for(
    session: Session, settings: Settings, person: User, workflow_key: str, title: str, body: str,
    assignee_org: Organisation | None = None, assignee_user: User | None = None,
    subject: tuple[str, str] | None = None,
) -> Case:
    """The platform opens a case for ``person`` (e.g. a usage report falling due): they are its
    opener, the opening message and the audit event are the system's."""
    return _open(session, settings, None, person, get(workflow_key), title, body, assignee_org, assignee_user,
                 subject)


def _open(
    session: Session, settings: Settings, actor: Principal | None, opener: User, wf: Workflow, title: str,
    body: str, assignee_org: Organisation | None, assignee_user: User | None, subject: tuple[str, str] | None,
) -> Case:
    errors = FieldErrors()
    _check_text(errors, "title", title, MAX_TITLE)
    _check_text(errors, "body", body, MAX_BODY)
    errors.raise_if_any()
    if assignee_org is None and assignee_user is None and wf.assignee_role is None:
        raise ValueError(f"workflow {wf.key!r} needs an assignee")
    case = Case(
        workflow=wf.key, state=wf.initial, title=title.strip(), opened_by_id=opener.id,
        assignee_org=assignee_org, assignee_user=assignee_user, profile_key=settings.jurisdiction,
        assignee_role=wf.assignee_role.value if wf.assignee_role and not (assignee_org or assignee_user) else None,
        subject_type=subject[0] if subject else "", subject_id=subject[1] if subject else "",
    )
    session.add(case)
    session.flush()
    add_entry(session, case, EntryKind.MESSAGE, opener if actor is not None else None, body)
    start_clock(session, case, wf.clock, china_today())
    _save(session)
    _record(session, actor, "open", case, title=case.title, profile=case.profile_key)
    notify(session, settings, holders_of(session, case, wf.clock_waits_for), case, "case_opened", lambda: (
        _("New case “%(title)s”", title=case.title),
        _("A new case (%(kind)s) is waiting for you. Due date: %(due)s.",
          kind=_(wf.title), due=_due_text(case))), skip=opener.id if actor is not None else None)
    return case


def _due_text(case: Case) -> str:
    return case.due_date.isoformat() if case.due_date else "—"


def _transition_for(wf: Workflow, case: Case, actor: Principal, name: str) -> Transition:
    step = wf.transition(name)
    if step is None or case.state not in step.from_states:
        raise InvalidTransition(_("This step is not possible while the case is “%(state)s”.",
                                  state=_(wf.state_label(case.state))))
    if not case_roles(actor, case) & step.allowed_roles:
        raise InvalidTransition(_("You may not take the step “%(step)s” on this case.",
                                  step=_(step.label or step.name)))
    return step


def _apply_clock(session: Session, case: Case, step: Transition, closes: bool) -> None:
    today = china_today()
    clock = case.clock
    if step.starts_clock is not None:
        start_clock(session, case, step.starts_clock, today)
    elif clock is not None:
        if step.pauses_clock:
            pause_clock(clock, today)
        if step.resumes_clock:
            resume_clock(clock, today)
        refresh_due(load_calendar(session), case, today)
        if step.stops_clock:
            stop_clock(case, today)
    if closes:
        stop_clock(case, today)
        case.closed_at = utcnow()


def do_transition(
    session: Session, settings: Settings, actor: Principal, case: Case, transition_name: str, reason: str = ""
) -> Case:
    """Takes one step of the case's workflow, if the state and the actor's case roles allow it."""
    user = require_login(actor)
    wf = get(case.workflow)
    step = _transition_for(wf, case, actor, transition_name)
    errors = FieldErrors()
    _check_text(errors, "reason", reason, MAX_BODY, required=step.requires_reason)
    errors.raise_if_any()
    from_state = case.state
    _apply_clock(session, case, step, wf.closes(step))
    case.state = step.to_state
    after_step(session, actor, case, step.to_state)
    add_entry(session, case, EntryKind.TRANSITION, user, reason, transition=step.name,
               from_state=from_state, to_state=step.to_state)
    _save(session)
    _record(session, actor, step.name, case, from_state=from_state, to_state=step.to_state)
    notify(session, settings, parties(session, case), case, f"case_{step.name}", lambda: (
        _("Case “%(title)s”", title=case.title),
        _("%(who)s: “%(step)s”. The case is now “%(state)s”.", who=user.display_name,
          step=_(step.label or step.name), state=_(wf.state_label(case.state)))), skip=user.id)
    return case


def _refuse_if(reason: str | None) -> None:
    if reason is not None:
        raise Forbidden(reason)


def do_post_message(session: Session, settings: Settings, actor: Principal, case: Case, body: str) -> CaseEntry:
    user = require_login(actor)
    _refuse_if(rules.refuse_posting(case, case_roles(actor, case)))
    errors = FieldErrors()
    _check_text(errors, "body", body, MAX_BODY)
    errors.raise_if_any()
    entry = add_entry(session, case, EntryKind.MESSAGE, user, body)
    _save(session)
    _record(session, actor, "message", case, entry_id=entry.id)
    notify(session, settings, parties(session, case), case, "case_message", lambda: (
        _("Case “%(title)s”", title=case.title),
        _("%(who)s wrote a message.", who=user.display_name)), skip=user.id)
    return entry


def do_attach_file(
    session: Session, settings: Settings, actor: Principal, case: Case, file_name: str, content_type: str,
    stream: BinaryIO, note: str = "", max_bytes: int = MAX_ATTACHMENT_BYTES,
) -> CaseAttachment:
    user = require_login(actor)
    _refuse_if(rules.refuse_posting(case, case_roles(actor, case)))
    errors = FieldErrors()
    _check_text(errors, "note", note, MAX_BODY, required=False)
    errors.raise_if_any()
    stored = store_stream(settings, stream, max_bytes)
    row = CaseAttachment(case_id=case.id, file_name=clean_file_name(file_name),
                         content_type=(content_type or "application/octet-stream")[:100], size=stored.size,
                         sha256=stored.sha256, stored_path=stored.path, uploaded_by_id=user.id)
    session.add(row)
    session.flush()
    add_entry(session, case, EntryKind.ATTACHMENT, user, note, attachment_id=row.id)
    _save(session)
    _record(session, actor, "attach", case, attachment_id=row.id, file_name=row.file_name,
            size=row.size, sha256=row.sha256)
    notify(session, settings, parties(session, case), case, "case_attachment", lambda: (
        _("Case “%(title)s”", title=case.title),
        _("%(who)s attached the file “%(name)s”.", who=user.display_name, name=row.file_name)), skip=user.id)
    return row


def do_request_extension(
    session: Session, settings: Settings, actor: Principal, case: Case, days: int, reason: str
) -> CaseClock:
    """Asks once for more time, at most what the profile allows; the profile's approver decides."""
    user = require_login(actor)
    wf = get(case.workflow)
    _refuse_if(rules.refuse_extension_request(wf, case, case_roles(actor, case)))
    clock = case.clock
    assert clock is not None and clock.extension_limit is not None
    errors = FieldErrors()
    if not 1 <= days <= clock.extension_limit:
        errors.add("days", _("Between 1 and %(max)s days.", max=clock.extension_limit))
    _check_text(errors, "reason", reason, MAX_BODY)
    errors.raise_if_any()
    clock.extension_status, clock.extension_amount = ExtensionStatus.PENDING.value, days
    clock.extension_reason, clock.extension_requested_by_id = reason.strip(), user.id
    clock.extension_requested_at = utcnow()
    add_event(session, case, user, "extension_request", reason, days=days)
    _save(session)
    _record(session, actor, "extension_request", case, days=days)
    approver = wf.approver_role(clock.extension_approver)
    approvers = holders_of(session, case, approver) if approver else []
    notify(session, settings, approvers, case, "case_extension_request", lambda: (
        _("Case “%(title)s”", title=case.title),
        _("%(who)s asks to extend the deadline by %(days)s days. Please decide.",
          who=user.display_name, days=days)), skip=user.id)
    return clock


def do_approve_extension(
    session: Session, settings: Settings, actor: Principal, case: Case, approve: bool = True, note: str = ""
) -> CaseClock:
    """The approver's decision on the pending request; an approval moves the due date once."""
    user = require_login(actor)
    wf = get(case.workflow)
    _refuse_if(rules.refuse_extension_decision(wf, case, case_roles(actor, case)))
    clock = case.clock
    assert clock is not None
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.DECLINED
    clock.extension_status, clock.approved_by_id, clock.approved_at = status.value, user.id, utcnow()
    refresh_due(load_calendar(session), case, china_today())
    event = "extension_approve" if approve else "extension_decline"
    add_event(session, case, user, event, note, days=clock.extension_amount)
    _save(session)
    _record(session, actor, event, case, days=clock.extension_amount)
    notify(session, settings, parties(session, case), case, f"case_{event}", lambda: (
        _("Case “%(title)s”", title=case.title),
        _("The extension is approved; the new due date is %(due)s.", due=_due_text(case)) if approve
        else _("The extension is declined; the due date stays %(due)s.", due=_due_text(case))), skip=user.id)
    return clock


def _set_pause(session: Session, settings: Settings, actor: Principal, case: Case, pausing: bool,
               reason: str) -> Case:
    user = require_login(actor)
    wf = get(case.workflow)
    _refuse_if(rules.refuse_pause(wf, case, case_roles(actor, case), pausing))
    clock = case.clock
    assert clock is not None
    today = china_today()
    if pausing:
        pause_clock(clock, today)
    else:
        resume_clock(clock, today)
    refresh_due(load_calendar(session), case, today)
    event = "pause_clock" if pausing else "resume_clock"
    add_event(session, case, user, event, reason)
    _save(session)
    _record(session, actor, event, case)
    return case


def do_pause_clock(session: Session, settings: Settings, actor: Principal, case: Case, reason: str = "") -> Case:
    """Stops the clock (e.g. while a third party is consulted): the days it stands still never count."""
    return _set_pause(session, settings, actor, case, True, reason)


def do_resume_clock(session: Session, settings: Settings, actor: Principal, case: Case, reason: str = "") -> Case:
    """Restarts the clock; the due date moves by the working days it stood still."""
    return _set_pause(session, settings, actor, case, False, reason)


def do_mark_read(session: Session, actor: Principal, notification_id: str | None = None) -> int:
    """Marks notifications read. Not audited: it changes nothing but the reader's own inbox."""
    return mark_read(session, require_login(actor), notification_id)
