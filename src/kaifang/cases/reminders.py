"""Deadline jobs as plain functions (the huey tasks in ``kaifang.jobs`` only wrap them): remind the
people a clock waits for (``Workflow.clock_waits_for``, the assignees by default) before a due
date and mark, notify and escalate cases whose due date has passed.

Both are idempotent, so running them twice a day, or again after a missed day, does no harm.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import User
from kaifang.calendar.workdays import WorkCalendar, load_calendar
from kaifang.cases.clocks import china_today
from kaifang.cases.followers import after_overdue
from kaifang.cases.models import Case, CaseReminder
from kaifang.cases.notifications import notify
from kaifang.cases.queries import assignees, holders_of, overdue_cases, running_cases
from kaifang.cases.thread import add_event
from kaifang.cases.workflow import CaseRole, get
from kaifang.config import Settings
from kaifang.db import utcnow
from kaifang.i18n import _
from kaifang.policy.profiles import load_profile


def _waited_for(session: Session, case: Case) -> list[User]:
    """The people the running clock waits for (the assignees unless the workflow says otherwise)."""
    return holders_of(session, case, get(case.workflow).clock_waits_for)


def _sent_leads(session: Session, case: Case) -> set[int]:
    return set(session.scalars(select(CaseReminder.lead_workdays).where(
        CaseReminder.case_id == case.id, CaseReminder.due_date == case.due_date)))


def _remind(session: Session, settings: Settings, calendar: WorkCalendar, case: Case, today: dt.date) -> bool:
    assert case.due_date is not None
    left = calendar.workdays_between(today, case.due_date)
    due_leads = {lead for lead in load_profile(case.profile_key).reminders.lead_workdays if left <= lead}
    new = due_leads - _sent_leads(session, case)
    if not new:
        return False
    # Several lead days may fall due at once (a short clock): one reminder covers them all.
    for lead in sorted(new):
        session.add(CaseReminder(case_id=case.id, lead_workdays=lead, due_date=case.due_date))
    due = case.due_date.isoformat()
    notify(session, settings, _waited_for(session, case), case, "case_reminder", lambda: (
        _("Case “%(title)s” is due on %(due)s", title=case.title, due=due),
        _("%(left)s working day(s) left until the due date %(due)s.", left=left, due=due)))
    record(session, None, "case.remind", target_type="case", target_id=case.id,
           data={"due_date": due, "workdays_left": left, "leads": sorted(new)})
    return True


def send_reminders(session: Session, settings: Settings, today: dt.date | None = None) -> int:
    """Reminds the people each running case waits for, the profile's lead working days before its due
    date, once per lead day and due date; returns how many cases were reminded."""
    today = today or china_today()
    calendar = load_calendar(session)
    sent = sum(_remind(session, settings, calendar, case, today) for case in running_cases(session, today))
    session.flush()
    return sent


def _escalation_targets(session: Session, case: Case) -> list[User]:
    """The provider head supervises the body's cases; the authority supervises every provider; a
    case the authority itself handles goes to the platform administrators. A case that waited for
    someone other than its assignees tells the assignees too."""
    if case.assignee_org_id is not None:
        targets = holders_of(session, case, CaseRole.PROVIDER_HEAD) + holders_of(session, case, CaseRole.AUTHORITY)
    elif case.assignee_role is not None:
        targets = holders_of(session, case, CaseRole.ADMIN)
    else:
        targets = holders_of(session, case, CaseRole.AUTHORITY)
    if get(case.workflow).clock_waits_for != CaseRole.ASSIGNEE:
        targets += assignees(session, case)
    return targets


def _mark(session: Session, settings: Settings, case: Case) -> None:
    assert case.due_date is not None
    due = case.due_date.isoformat()
    case.overdue, case.escalated_at = True, utcnow()
    add_event(session, case, None, "overdue", due=due)
    session.flush()
    record(session, None, "case.overdue", target_type="case", target_id=case.id,
           data={"workflow": case.workflow, "due_date": due})
    after_overdue(session, case)
    kind_title = get(case.workflow).title
    notify(session, settings, _waited_for(session, case), case, "case_overdue", lambda: (
        _("Case “%(title)s” is overdue", title=case.title),
        _("The due date %(due)s has passed. Please deal with the case now.", due=due)))
    notify(session, settings, _escalation_targets(session, case), case, "case_escalated", lambda: (
        _("Overdue case escalated: “%(title)s”", title=case.title),
        _("A case (%(kind)s) passed its due date %(due)s without an answer and is escalated to you.",
          kind=_(kind_title), due=due)))


def mark_overdue(session: Session, settings: Settings, today: dt.date | None = None) -> int:
    """Marks open cases past their due date overdue, once, notifying the people the clock waited for,
    escalating and telling the workflow's overdue follower;
    returns how many were newly marked."""
    today = today or china_today()
    newly = [case for case in overdue_cases(session, today) if not case.overdue]
    for case in newly:
        _mark(session, settings, case)
    session.flush()
    return len(newly)
