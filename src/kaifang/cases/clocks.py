"""Due dates: a clock's period in working (or natural) days from the day after it started, moved
by every working day spent paused and by an approved extension.

Pure arithmetic over ``WorkCalendar`` plus the one place that writes ``Case.due_date``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.calendar.workdays import DueDate, WorkCalendar, load_calendar
from kaifang.cases.models import Case, CaseClock, ClockPause
from kaifang.db import utcnow
from kaifang.policy.profiles import ClockName, TimeUnit, load_profile

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def china_today(now: dt.datetime | None = None) -> dt.date:
    """Deadlines count Beijing dates, whatever the server's time zone."""
    return (now or utcnow()).astimezone(CHINA_TZ).date()


def paused_length(calendar: WorkCalendar, clock: CaseClock) -> int:
    """Days spent in finished pauses, in the clock's unit: (paused_on, resumed_on]. A pause still
    running does not move the due date until it ends."""
    total = 0
    for pause in clock.pauses:
        if pause.resumed_on is None:
            continue
        if clock.unit == TimeUnit.WORKDAYS:
            total += calendar.workdays_between(pause.paused_on, pause.resumed_on)
        else:
            total += max((pause.resumed_on - pause.paused_on).days, 0)
    return total


def compute_due(calendar: WorkCalendar, clock: CaseClock) -> DueDate:
    days = clock.amount + clock.extended_by + paused_length(calendar, clock)
    if clock.unit == TimeUnit.WORKDAYS:
        return calendar.add_workdays(clock.started_on, days)
    return calendar.add_days(clock.started_on, days)


def refresh_due(calendar: WorkCalendar, case: Case, today: dt.date) -> None:
    """Writes the running clock's due date onto the case. A stopped clock keeps the date it had;
    a due date moved past today is no longer overdue."""
    clock = case.clock
    if clock is None:
        return
    due = compute_due(calendar, clock)
    case.due_date, case.calendar_missing = due.date, due.calendar_missing
    if case.overdue and due.date >= today:
        case.overdue = False


def start_clock(session: Session, case: Case, name: ClockName, today: dt.date) -> CaseClock:
    """Stops any running clock and starts ``name`` as the case's profile states it today."""
    stop_clock(case, today)
    spec = load_profile(case.profile_key).clock(name)
    clock = CaseClock(
        name=name.value, seq=len(case.clocks) + 1, amount=spec.amount, unit=spec.unit.value,
        source=spec.source, started_on=today, extension_limit=spec.extension_amount,
        extension_approver=spec.extension_approver.value if spec.extension_approver else None,
    )
    case.clocks.append(clock)
    session.flush()
    refresh_due(load_calendar(session), case, today)
    return clock


def stop_clock(case: Case, today: dt.date) -> None:
    clock = case.clock
    if clock is None:
        return
    resume_clock(clock, today)
    clock.stopped_on = today


def pause_clock(clock: CaseClock, today: dt.date) -> bool:
    """Returns False if the clock was paused already."""
    if clock.open_pause is not None:
        return False
    clock.pauses.append(ClockPause(paused_on=today))
    return True


def resume_clock(clock: CaseClock, today: dt.date) -> bool:
    """Returns False if the clock was not paused."""
    pause = clock.open_pause
    if pause is None:
        return False
    pause.resumed_on = today
    return True


def recompute_open_cases(session: Session) -> None:
    """Subscriber of ``on_calendar_changed``: the holiday table changed, so every open case's due
    date is counted again (with the case's own clock, never the current profile)."""
    calendar = load_calendar(session)
    today = china_today()
    for case in session.scalars(select(Case).where(Case.closed_at.is_(None))):
        refresh_due(calendar, case, today)
    session.flush()
