"""Reminders before due dates and overdue marking with escalation, at frozen Beijing dates."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.cases.actions import do_open_case, do_pause_clock
from kaifang.cases.models import CaseReminder, Notification
from kaifang.cases.queries import entries, overdue_cases
from kaifang.cases.reminders import mark_overdue, send_reminders
from tests.unit.cases.helpers import PROVIDER_CASE, People, as_actor, at

D = dt.date


def _provider(session, settings, people: People):
    with at(D(2025, 9, 29)):
        return do_open_case(session, settings, as_actor(session, people.opener), PROVIDER_CASE.key, "疑义",
                            "数据有误", assignee_org=people.org)


def _kinds(session, user) -> list[str]:
    return list(session.scalars(select(Notification.kind).where(Notification.user_id == user.id)
                                .order_by(Notification.created_at)))


def test_reminders_go_out_once_per_lead_day(session, settings, people):
    case = _provider(session, settings, people)  # due 2025-10-20; national leads are 3 and 1
    runs = {}
    for day in (D(2025, 10, 14), D(2025, 10, 15), D(2025, 10, 16), D(2025, 10, 17), D(2025, 10, 17),
                D(2025, 10, 20)):
        with at(day):
            runs.setdefault(day, []).append(send_reminders(session, settings))
    assert runs == {D(2025, 10, 14): [0], D(2025, 10, 15): [1], D(2025, 10, 16): [0],
                    D(2025, 10, 17): [1, 0], D(2025, 10, 20): [0]}
    assert _kinds(session, people.staff) == ["case_opened", "case_reminder", "case_reminder"]
    assert _kinds(session, people.opener) == []
    leads = session.scalars(select(CaseReminder.lead_workdays).where(CaseReminder.case_id == case.id))
    assert sorted(leads) == [1, 3]


def test_a_short_remaining_time_sends_one_reminder_for_all_lead_days(session, settings, people):
    _provider(session, settings, people)
    assert send_reminders(session, settings, today=D(2025, 10, 17)) == 1
    assert _kinds(session, people.staff).count("case_reminder") == 1


def test_overdue_is_marked_once_after_the_due_date_and_escalated(session, settings, people):
    case = _provider(session, settings, people)
    with at(D(2025, 10, 20), hour=23):
        assert mark_overdue(session, settings) == 0
    with at(D(2025, 10, 21), hour=0):
        assert mark_overdue(session, settings) == 1
        assert mark_overdue(session, settings) == 0
    session.commit()
    assert case.overdue and case.escalated_at is not None
    assert _kinds(session, people.staff)[-1] == "case_overdue"
    assert _kinds(session, people.head)[-2:] == ["case_overdue", "case_escalated"]
    assert _kinds(session, people.reviewer) == ["case_escalated"]
    assert entries(session, case)[-1].transition == "overdue"
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.overdue")).all()
    assert [(e.target_id, e.actor_label) for e in events] == [(case.id, "system")]


def test_paused_and_stopped_clocks_are_never_overdue(session, settings, people):
    paused = _provider(session, settings, people)
    with at(D(2025, 10, 1)):
        do_pause_clock(session, settings, as_actor(session, people.staff), paused, "征求意见")
    assert overdue_cases(session, D(2025, 12, 1)) == []
    assert send_reminders(session, settings, today=D(2025, 10, 17)) == 0


def test_overdue_contact_cases_escalate_to_the_administrators(session, settings, people):
    with at(D(2025, 9, 29)):
        do_open_case(session, settings, as_actor(session, people.opener), "contact", "咨询", "内容")
    assert mark_overdue(session, settings, today=D(2025, 10, 21)) == 1
    assert _kinds(session, people.admin) == ["case_escalated"]
    assert _kinds(session, people.reviewer) == ["case_opened", "case_overdue"]
