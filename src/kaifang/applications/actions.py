"""Writes of the application workflow: apply, ask for and supply information, reject, approve with
conditions, withdraw; and the follower that keeps the application with its case.

The case engine takes each step (state, roles, clock, thread, notifications, its audit event);
these functions check what only this domain knows (the entry, the scope) and record their own
events. None commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.access.grants import check_scope, do_create_grant
from kaifang.access.models import Grant
from kaifang.applications.agreements import create_agreement
from kaifang.applications.forms import (
    ApplicationInput,
    DecisionInput,
    check_choice,
    check_period,
    check_text,
    parse_date,
    parse_feedback,
)
from kaifang.applications.models import Application, ReviewOutcome
from kaifang.applications.workflows import (
    AGREEMENT_REJECTED,
    APPLICATION,
    AUTHORITY_REVIEW,
    GRANTED,
    OPEN_STATES,
    SIGNING,
)
from kaifang.audit.actions import record
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.actions import do_attach_file, do_open_case, do_transition
from kaifang.cases.clocks import china_today
from kaifang.cases.followers import follow
from kaifang.cases.models import Case
from kaifang.cases.queries import case_view
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import can_edit
from kaifang.catalog.vocab import EntryStatus, OpenType
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.errors import (
    Conflict,
    FieldErrors,
    Forbidden,
    InvalidTransition,
    KaifangError,
    NotAuthenticated,
    ValidationFailed,
)
from kaifang.i18n import _
from kaifang.policy.profiles import load_profile

SUBJECT = "catalog_entry"
TARGET = "access_application"
# A file given with the application: (file name, content type, stream).
Upload = tuple[str, str, BinaryIO]


def applying_refusal(session: Session, actor: Principal, entry: CatalogEntry) -> KaifangError | None:
    """Why ``actor`` may not apply for ``entry`` now, as the error to raise, or None."""
    if entry.status != EntryStatus.PUBLISHED or entry.open_type != OpenType.CONDITIONAL:
        return Conflict(_("Only published conditional data is applied for."))
    if not actor.is_authenticated:
        return NotAuthenticated(_("Log in to apply for this data."))
    if can_edit(session, actor, entry):
        return Forbidden(_("Your organisation provides this dataset; its data need no application."))
    if not actor.is_verified:
        return Forbidden(_("Verify your identity on your account page before applying (CQ 23)."))
    if open_application(session, entry.id, actor.id) is not None:
        return Conflict(_("You have an application for this dataset in progress already."))
    return None


def refuse_applying(session: Session, actor: Principal, entry: CatalogEntry) -> str | None:
    refusal = applying_refusal(session, actor, entry)
    return refusal.message if refusal is not None else None


def open_application(session: Session, entry_id: str, user_id: str) -> Application | None:
    return session.scalars(select(Application).join(Case, Case.id == Application.id).where(
        Application.entry_id == entry_id, Application.applicant_id == user_id,
        Case.state.in_(OPEN_STATES))).first()


def _check_application(entry: CatalogEntry, data: ApplicationInput, today: dt.date) -> tuple[dt.date, dt.date]:
    errors = FieldErrors()
    check_choice(errors, "columns", data.columns, [i.name for i in entry.items],
                 _("Choose at least one data item."), _("Choose among the data items of this dataset."))
    check_choice(errors, "modes", data.modes, list(entry.access_modes or ()),
                 _("Choose at least one way of access."), _("The dataset is not offered that way."))
    check_text(errors, "purpose", data.purpose)
    check_text(errors, "scenario", data.scenario)
    check_text(errors, "security_measures", data.security_measures)
    start, end = parse_date(errors, "use_from", data.use_from), parse_date(errors, "use_until", data.use_until)
    check_period(errors, "use_from", start, "use_until", end, today)
    errors.raise_if_any()
    assert start is not None and end is not None
    return start, end


def _summary(entry: CatalogEntry, data: ApplicationInput, start: dt.date, end: dt.date) -> str:
    titles = {i.name: i.title or i.name for i in entry.items}
    return "\n".join((
        _("Data items: %(items)s", items="、".join(titles.get(c, c) for c in data.columns)),
        _("Period of use: %(start)s to %(end)s", start=start.isoformat(), end=end.isoformat()),
        _("Purpose: %(text)s", text=data.purpose.strip()),
    ))


def do_apply(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry, data: ApplicationInput,
             files: Sequence[Upload] = ()) -> Application:
    """A verified user applies (CQ 24, LYG 10); the provider's evaluation clock starts (LYG 19)."""
    refusal = applying_refusal(session, actor, entry)
    if refusal is not None:
        raise refusal
    start, end = _check_application(entry, data, china_today())
    renews = session.get(Grant, data.renews_grant_id) if data.renews_grant_id else None
    case = do_open_case(session, settings, actor, APPLICATION.key,
                        _("Data application: %(title)s", title=entry.title)[:200], _summary(entry, data, start, end),
                        assignee_org=entry.provider, subject=(SUBJECT, entry.id))
    app = Application(id=case.id, entry_id=entry.id, applicant_id=actor.id, columns=list(dict.fromkeys(data.columns)),
                      modes=sorted(set(data.modes)), purpose=data.purpose.strip(), scenario=data.scenario.strip(),
                      security_measures=data.security_measures.strip(), use_from=start, use_until=end,
                      renews_grant_id=renews.id if renews is not None and renews.user_id == actor.id else None)
    session.add(app)
    session.flush()
    record(session, actor, "application.submit", target_type=TARGET, target_id=app.id,
           data={"entry": entry.name, "columns": app.columns, "modes": app.modes, "use_from": start.isoformat(),
                 "use_until": end.isoformat(), "renews_grant_id": app.renews_grant_id})
    for name, content_type, stream in files:
        do_attach_file(session, settings, actor, case, name, content_type, stream)
    return app


def _check_step(actor: Principal, app: Application, step: str) -> None:
    """Refuses before anything is validated or changed, so a refusal writes nothing."""
    if step not in {t.name for t in case_view(actor, app.case).transitions}:
        label = APPLICATION.transition(step)
        raise InvalidTransition(_("You may not take the step “%(step)s” on this application now.",
                                  step=_(label.label) if label else step))


def do_step(session: Session, settings: Settings, actor: Principal, app: Application, step: str,
            text: str = "") -> Application:
    """Ask for information, supply it, reject with reasons, withdraw: the engine checks who and when."""
    if step not in ("ask_info", "supplement", "reject", "withdraw"):
        raise InvalidTransition(_("This step is taken elsewhere on the application page."))
    _check_step(actor, app, step)
    do_transition(session, settings, actor, app.case, step, text)
    record(session, actor, f"application.{step}", target_type=TARGET, target_id=app.id,
           data={"entry": app.entry.name, "text": text.strip()})
    return app


@dataclass(frozen=True)
class Decision:
    row_filter: list[dict[str, Any]]
    valid_from: dt.date
    valid_until: dt.date
    feedback_every_months: int


def _check_decision(session: Session, app: Application, data: DecisionInput) -> Decision:
    errors = FieldErrors()
    check_choice(errors, "columns", data.columns, app.columns, _("Choose at least one data item."),
                 _("Approve only data items that were applied for."))
    start, end = parse_date(errors, "valid_from", data.valid_from), parse_date(errors, "valid_until", data.valid_until)
    if end is not None and end > app.use_until:
        errors.add("valid_until", _("At most the period applied for: until %(day)s.", day=app.use_until.isoformat()))
    elif end is not None and end < china_today():
        errors.add("valid_until", _("The period is over already."))
    months = parse_feedback(errors, data.feedback_every_months)
    conditions = [c.as_dict() for c in data.conditions if not c.blank]
    row_filter: list[dict[str, Any]] = []
    try:
        row_filter = check_scope(session, app.entry, data.columns, conditions, data.modes,
                                 start or dt.date.min, end or dt.date.max)
    except ValidationFailed as exc:
        # The scope check also sees the row filter and the modes; a field already refused keeps our message.
        for name, messages in exc.fields.items():
            if name not in errors.fields:
                for message in messages:
                    errors.add(name, message)
    errors.raise_if_any()
    assert start is not None and end is not None
    return Decision(row_filter, start, end, months)


def do_approve(session: Session, settings: Settings, actor: Principal, app: Application,
               data: DecisionInput) -> Application:
    """Approves with conditions (LYG 19): a subset of the columns, a row filter, modes, a period and
    the feedback interval; the agreement is generated from the newest model template."""
    user = require_login(actor)
    _check_step(actor, app, "approve")
    decision = _check_decision(session, app, data)
    app.approved_columns = [c for c in app.columns if c in set(data.columns)]
    app.row_filter, app.approved_modes = decision.row_filter, sorted(set(data.modes))
    app.valid_from, app.valid_until = decision.valid_from, decision.valid_until
    app.feedback_every_months = decision.feedback_every_months
    app.decided_at, app.decided_by_id = utcnow(), user.id
    session.flush()
    do_transition(session, settings, actor, app.case, "approve", data.note)
    agreement = create_agreement(session, actor, app)
    record(session, actor, "application.approve", target_type=TARGET, target_id=app.id,
           data={"entry": app.entry.name, "columns": app.approved_columns, "row_filter": app.row_filter,
                 "modes": app.approved_modes, "valid_from": decision.valid_from.isoformat(),
                 "valid_until": decision.valid_until.isoformat(),
                 "feedback_every_months": app.feedback_every_months, "agreement_id": agreement.id})
    return app


def _open_grant(session: Session, actor: Principal, app: Application) -> None:
    assert app.agreement is not None and app.valid_from is not None and app.valid_until is not None
    grant = do_create_grant(session, actor, entry=app.entry, user=app.applicant, columns=app.approved_columns,
                            row_filter=app.row_filter, modes=app.approved_modes, valid_from=app.valid_from,
                            valid_until=app.valid_until, feedback_every_months=app.feedback_every_months,
                            application_id=app.id, agreement_id=app.agreement.id)
    app.grant_id = grant.id


def follow_application(session: Session, actor: Principal, case: Case, state: str) -> None:
    """Keeps the application with its case, wherever the step was taken, and refuses steps whose
    input only the application pages collect."""
    app = session.get(Application, case.id)
    if app is None:
        return
    agreement = app.agreement
    review = load_profile(case.profile_key).steps.agreement_authority_review
    if state == SIGNING and app.decided_at is None:
        raise InvalidTransition(_("Approve on the application page, where the scope of access is set."))
    if state in (AUTHORITY_REVIEW, GRANTED) and (agreement is None or not agreement.fully_accepted):
        raise InvalidTransition(_("Both parties must accept the data-use agreement first."))
    if state == AUTHORITY_REVIEW and not review:
        raise InvalidTransition(_("This jurisdiction does not have agreements reviewed by the authority."))
    if state == GRANTED and review and (agreement is None or agreement.review_submitted_at is None):
        raise InvalidTransition(_("The authority must review the agreement first (CQ 24)."))
    assert agreement is not None or state not in (AUTHORITY_REVIEW, GRANTED, AGREEMENT_REJECTED)
    if state == AUTHORITY_REVIEW and agreement is not None:
        agreement.review_submitted_at = utcnow()
    if state in (GRANTED, AGREEMENT_REJECTED) and review and agreement is not None:
        agreement.review_outcome = ReviewOutcome.APPROVED if state == GRANTED else ReviewOutcome.REJECTED
        agreement.reviewed_at, agreement.reviewed_by_id = utcnow(), actor.id or None
        record(session, actor, f"agreement.review_{agreement.review_outcome}", target_type="data_agreement",
               target_id=agreement.id, data={"application_id": app.id, "sha256": agreement.sha256})
    if state == GRANTED:
        _open_grant(session, actor, app)


follow(APPLICATION.key, follow_application)

__all__ = ["applying_refusal", "do_apply", "do_approve", "do_step", "follow_application", "open_application",
           "refuse_applying"]
