"""Usage feedback (LYG 24): a grantee reports how they used conditional data as often as their
agreement says (``Grant.feedback_every_months``); the provider follows the use (LYG 25).

Each report is a case of the ``usage_feedback`` workflow on the one case engine:

- the platform opens it when a period of the grant ends (``open_due_reports``, a daily job), for
  the grantee (its opener) and assigned to the provider of the dataset;
- its clock (``usage_feedback`` in the jurisdiction profile) waits for the grantee, so reminders
  and the overdue notice go to them, and the provider is told when it is late;
- the grantee submits the report (text and files); the provider accepts it or asks for more,
  which gives the grantee the period again;
- a report past its due date flags the grant (``Grant.feedback_overdue``) until it is submitted;
  the provider may then suspend the grant (LYG 40).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.access.models import FeedbackReport, Grant, GrantStatus
from kaifang.audit.actions import record
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.actions import do_attach_file, do_open_case_for, do_transition
from kaifang.cases.clocks import china_today
from kaifang.cases.followers import follow, follow_overdue
from kaifang.cases.models import Case
from kaifang.cases.notifications import language_of
from kaifang.cases.roles import case_roles
from kaifang.cases.rules import allowed_transitions
from kaifang.cases.workflow import CaseRole, Workflow, register, transition
from kaifang.config import Settings
from kaifang.errors import FieldErrors, InvalidTransition
from kaifang.i18n import N_, _
from kaifang.policy.profiles import ClockName

SUBJECT = "access_grant"
DUE, MORE, SUBMITTED, ACCEPTED = "due", "more_asked", "submitted", "accepted"
# States in which the report is still owed by the grantee.
OWED = frozenset({DUE, MORE})
MAX_REPORT = 20_000
MAX_FILES = 5


def _opened_by_the_platform(actor: Principal) -> bool:
    """Nobody opens a report by hand: the platform does when a period ends."""
    return False


FEEDBACK = register(Workflow(
    key="usage_feedback",
    title=N_("Usage report"),
    states={DUE: N_("Waiting for the report"), MORE: N_("More information asked for"),
            SUBMITTED: N_("Waiting for the provider's review"), ACCEPTED: N_("Accepted")},
    initial=DUE,
    final_states=frozenset({ACCEPTED}),
    transitions=(
        transition("submit_report", {DUE, MORE}, SUBMITTED, {CaseRole.OPENER}, N_("Submit the report"),
                   stops_clock=True, requires_reason=True),
        transition("accept_report", SUBMITTED, ACCEPTED, {CaseRole.ASSIGNEE}, N_("Accept the report")),
        transition("ask_more", SUBMITTED, MORE, {CaseRole.ASSIGNEE}, N_("Ask for more information"),
                   requires_reason=True, starts_clock=ClockName.USAGE_FEEDBACK),
    ),
    clock=ClockName.USAGE_FEEDBACK,
    clock_waits_for=CaseRole.OPENER,
    may_open=_opened_by_the_platform,
    # The report's own page: the grantee's form and the provider's review.
    detail_path="/usage-reports/{id}",
))


# ---- periods ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    """The last day covered; the report falls due the day after."""


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def report_periods(grant: Grant) -> list[Period]:
    """Every N months from the start of the grant; the last period ends with the grant."""
    every = grant.feedback_every_months
    if every <= 0:
        return []
    periods: list[Period] = []
    start = grant.valid_from
    while start <= grant.valid_until:
        following = add_months(grant.valid_from, (len(periods) + 1) * every)
        periods.append(Period(start, min(following - dt.timedelta(days=1), grant.valid_until)))
        start = following
    return periods


def next_period_end(grant: Grant, today: dt.date) -> dt.date | None:
    """The end of the period running today (its report falls due the day after), if any."""
    return next((p.end for p in report_periods(grant) if p.end >= today), None)


# ---- opening reports --------------------------------------------------------------------------

def _owing_grants(session: Session, today: dt.date) -> list[Grant]:
    # A revoked grant owes nothing more; a suspended one still reports on the data it received.
    return list(session.scalars(select(Grant).where(
        Grant.feedback_every_months > 0, Grant.status != GrantStatus.REVOKED, Grant.valid_from < today)
        .order_by(Grant.created_at, Grant.id)))


def _open_report(session: Session, settings: Settings, grant: Grant, period: Period) -> FeedbackReport:
    entry = grant.entry
    with language_of(grant.user, settings):
        title = _("Usage report: %(title)s, %(start)s – %(end)s", title=entry.title[:120],
                  start=period.start.isoformat(), end=period.end.isoformat())
        body = _("Please report how you used the data of “%(title)s” from %(start)s to %(end)s, as your "
                 "data-use agreement requires (LYG 24): for what purpose, by whom, what results, and any "
                 "problem. Attach files if useful.", title=entry.title, start=period.start.isoformat(),
                 end=period.end.isoformat())
    case = do_open_case_for(session, settings, grant.user, FEEDBACK.key, title[:200], body,
                            assignee_org=entry.provider, subject=(SUBJECT, grant.id))
    report = FeedbackReport(grant_id=grant.id, period_start=period.start, period_end=period.end, case_id=case.id)
    session.add(report)
    session.flush()
    record(session, None, "grant.feedback_due", target_type="access_grant", target_id=grant.id,
           data={"entry": entry.name, "user_id": grant.user_id, "case_id": case.id,
                 "period_start": period.start.isoformat(), "period_end": period.end.isoformat()})
    return report


def open_due_reports(session: Session, settings: Settings, today: dt.date | None = None) -> int:
    """Opens the report of every period that has ended and has none yet; returns how many.

    Idempotent: one report per grant and period (a unique key), so running it again, or after
    missed days, opens only what is missing. No report is asked for a period that had ended
    before the grant was made."""
    today = today or china_today()
    opened = 0
    for grant in _owing_grants(session, today):
        made_on = china_today(grant.created_at)
        have = set(session.scalars(select(FeedbackReport.period_end).where(FeedbackReport.grant_id == grant.id)))
        for period in report_periods(grant):
            if period.end < today and period.end >= made_on and period.end not in have:
                _open_report(session, settings, grant, period)
                opened += 1
    session.flush()
    return opened


# ---- the grantee's and the provider's steps ---------------------------------------------------

@dataclass(frozen=True)
class ReportFile:
    name: str
    content_type: str
    stream: BinaryIO


def _step(actor: Principal, report: FeedbackReport, name: str) -> None:
    """Refuses a step the case does not allow this actor now, before anything is written."""
    case = report.case
    if not any(t.name == name for t in allowed_transitions(FEEDBACK, case, case_roles(actor, case))) \
            or not case.is_open:
        raise InvalidTransition(_("This report is not waiting for this step."))


def do_submit_report(session: Session, settings: Settings, actor: Principal, report: FeedbackReport, text: str,
                     files: Sequence[ReportFile] = ()) -> Case:
    """The grantee's report: the text, with up to five files, in one step."""
    require_login(actor)
    _step(actor, report, "submit_report")
    errors = FieldErrors()
    if not text.strip():
        errors.add("report", _("Describe how you used the data."))
    elif len(text) > MAX_REPORT:
        errors.add("report", _("At most %(max)s characters.", max=MAX_REPORT))
    if len(files) > MAX_FILES:
        errors.add("files", _("Attach at most %(n)s files.", n=MAX_FILES))
    errors.raise_if_any()
    for file in files:
        do_attach_file(session, settings, actor, report.case, file.name, file.content_type, file.stream)
    return do_transition(session, settings, actor, report.case, "submit_report", text)


def do_accept_report(session: Session, settings: Settings, actor: Principal, report: FeedbackReport,
                     note: str = "") -> Case:
    _step(actor, report, "accept_report")
    return do_transition(session, settings, actor, report.case, "accept_report", note)


def do_ask_more(session: Session, settings: Settings, actor: Principal, report: FeedbackReport,
                reason: str) -> Case:
    """Sends the report back to the grantee with what is missing; their clock starts again."""
    _step(actor, report, "ask_more")
    return do_transition(session, settings, actor, report.case, "ask_more", reason)


# ---- the overdue flag -------------------------------------------------------------------------

def _report_of(session: Session, case: Case) -> FeedbackReport | None:
    return session.scalars(select(FeedbackReport).where(FeedbackReport.case_id == case.id)).first()


def _still_overdue(session: Session, grant: Grant) -> bool:
    """Whether any report of the grant is past its due date and still owed."""
    cases = session.scalars(select(Case).join(FeedbackReport, FeedbackReport.case_id == Case.id)
                            .where(FeedbackReport.grant_id == grant.id, Case.state.in_(OWED),
                                   Case.overdue.is_(True)))
    return cases.first() is not None


def _set_flag(session: Session, actor: Principal | None, grant: Grant, report: FeedbackReport) -> None:
    overdue = _still_overdue(session, grant)
    if grant.feedback_overdue == overdue:
        return
    grant.feedback_overdue = overdue
    session.flush()
    record(session, actor, "grant.feedback_overdue" if overdue else "grant.feedback_caught_up",
           target_type="access_grant", target_id=grant.id,
           data={"entry": grant.entry.name, "user_id": grant.user_id, "case_id": report.case_id,
                 "period_end": report.period_end.isoformat(), "feedback_overdue": overdue})


def flag_overdue_report(session: Session, case: Case) -> None:
    """Overdue follower: the grant of a report past its due date is flagged."""
    report = _report_of(session, case)
    if report is not None:
        session.flush()
        _set_flag(session, None, report.grant, report)


def follow_report_case(session: Session, actor: Principal, case: Case, state: str) -> None:
    """Step follower: a submitted report clears the flag (unless another report is overdue)."""
    report = _report_of(session, case)
    if report is not None and state == SUBMITTED:
        session.flush()
        _set_flag(session, actor, report.grant, report)


follow(FEEDBACK.key, follow_report_case)
follow_overdue(FEEDBACK.key, flag_overdue_report)
