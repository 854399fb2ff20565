"""Properties of the engine over generated step sequences and calendars."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from kaifang.calendar.workdays import WorkCalendar
from kaifang.cases.actions import do_approve_extension, do_open_case, do_request_extension, do_transition
from kaifang.cases.clocks import compute_due
from kaifang.cases.models import CaseClock, ClockPause
from kaifang.cases.workflow import CaseRole
from kaifang.errors import Forbidden, InvalidTransition, ValidationFailed
from tests.unit.cases.helpers import PROVIDER_CASE, as_actor, audit_count

PROFILE = hsettings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROLES_OF = {
    "opener": {CaseRole.OPENER}, "staff": {CaseRole.ASSIGNEE}, "head": {CaseRole.ASSIGNEE, CaseRole.PROVIDER_HEAD},
    "reviewer": {CaseRole.AUTHORITY}, "auditor": {CaseRole.AUDITOR}, "admin": {CaseRole.ADMIN}, "outsider": set(),
}
STEP_NAMES = [t.name for t in PROVIDER_CASE.transitions] + ["bogus"]
REFUSALS = (InvalidTransition, ValidationFailed, Forbidden)


def _open(session, settings, people):
    case = do_open_case(session, settings, as_actor(session, people.opener), PROVIDER_CASE.key, "t", "b",
                        assignee_org=people.org)
    session.commit()
    return case


def _attempt(session, action) -> bool:
    before = audit_count(session)
    try:
        action()
    except REFUSALS:
        session.rollback()
        assert audit_count(session) == before, "a refused action left an audit event"
        return False
    session.commit()
    assert audit_count(session) == before + 1, "a successful action must leave exactly one audit event"
    return True


@PROFILE
@given(steps=st.lists(st.tuples(st.sampled_from(sorted(ROLES_OF)), st.sampled_from(STEP_NAMES),
                                st.sampled_from(["", "理由"])), max_size=8))
def test_only_steps_in_the_table_succeed_each_with_one_audit_event(session, settings, people, steps):
    case = _open(session, settings, people)
    for who, name, reason in steps:
        step = PROVIDER_CASE.transition(name)
        state = case.state
        expected = (step is not None and state in step.from_states and bool(ROLES_OF[who] & step.allowed_roles)
                    and bool(reason or not step.requires_reason))
        actor = as_actor(session, getattr(people, who))
        done = _attempt(session, lambda: do_transition(session, settings, actor, case, name, reason))
        assert done == expected, (who, name, state, reason)
        assert case.state == (step.to_state if done and step else state)


def _simulated_due(calendar: WorkCalendar, start: dt.date, amount: int,
                   pauses: list[tuple[dt.date, dt.date]]) -> dt.date:
    """Counts day by day, skipping every day in a pause (paused_on, resumed_on]."""
    day, counted = start, 0
    while counted < amount:
        day += dt.timedelta(days=1)
        paused = any(p < day <= r for p, r in pauses)
        counted += calendar.is_workday(day) and not paused
    return day


@hsettings(max_examples=50, deadline=None)
@given(start=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)), amount=st.integers(1, 25),
       gaps=st.lists(st.tuples(st.integers(0, 15), st.integers(0, 20)), max_size=4))
def test_paused_working_days_never_count(start, amount, gaps):
    calendar = WorkCalendar({}, set())
    pauses, cursor = [], start
    for gap, length in gaps:
        paused_on = cursor + dt.timedelta(days=gap)
        cursor = paused_on + dt.timedelta(days=length)
        pauses.append((paused_on, cursor))
    clock = CaseClock(amount=amount, unit="workdays", started_on=start,
                      pauses=[ClockPause(paused_on=p, resumed_on=r) for p, r in pauses])
    plain = CaseClock(amount=amount, unit="workdays", started_on=start)
    paused_days = sum(calendar.workdays_between(p, r) for p, r in pauses)
    due = compute_due(calendar, clock).date
    assert due == calendar.add_workdays(compute_due(calendar, plain).date, paused_days).date
    # Pauses taken while the clock still had days to run give exactly the day-by-day count.
    simulated = _simulated_due(calendar, start, amount, pauses)
    if all(p < simulated for p, _r in pauses):
        assert due == simulated
    # An unfinished pause does not move the due date until it ends.
    clock.pauses.append(ClockPause(paused_on=cursor))
    assert compute_due(calendar, clock).date == due


@PROFILE
@given(moves=st.lists(st.tuples(st.sampled_from(["request", "approve", "decline"]),
                                st.sampled_from(sorted(ROLES_OF)), st.integers(0, 12)), max_size=6))
def test_at_most_one_extension_and_only_by_the_approver(session, settings, people, moves):
    case = _open(session, settings, people)
    base_due, requested, decided = case.due_date, None, False
    for move, who, days in moves:
        actor = as_actor(session, getattr(people, who))
        if move == "request":
            expected = requested is None and CaseRole.ASSIGNEE in ROLES_OF[who] and 1 <= days <= 10
            done = _attempt(session, lambda: do_request_extension(session, settings, actor, case, days, "r"))
            requested = days if done else requested
        else:
            expected = requested is not None and not decided and CaseRole.PROVIDER_HEAD in ROLES_OF[who]
            done = _attempt(session, lambda: do_approve_extension(session, settings, actor, case, move == "approve"))
            decided = decided or done
        assert done == expected, (move, who, days)
    approved = case.clock.extended
    assert case.due_date == (calendar_after(session, case, base_due, requested) if approved else base_due)


def calendar_after(session, case, base_due: dt.date, days: int | None) -> dt.date:
    from kaifang.calendar.workdays import load_calendar
    return load_calendar(session).add_workdays(base_due, days or 0).date
