"""Due dates in working days across holidays, the admin table taking over after the package's last
year, and jurisdiction profiles applying to newly opened cases only."""

from __future__ import annotations

import datetime as dt

from kaifang.calendar.actions import do_delete_day, do_import_csv, do_set_day
from kaifang.cases.actions import do_open_case, do_transition
from kaifang.cases.clocks import china_today
from kaifang.cases.models import Case
from tests.unit.cases.helpers import DISCLOSURE_CASE, People, as_actor, at

D = dt.date


def _contact(session, settings, people: People) -> Case:
    return do_open_case(session, settings, as_actor(session, people.opener), "contact", "咨询", "内容")


def test_beijing_date_decides_the_day_of_receipt():
    assert china_today(dt.datetime(2025, 9, 30, 16, 30, tzinfo=dt.UTC)) == D(2025, 10, 1)
    assert china_today(dt.datetime(2025, 9, 30, 15, 59, tzinfo=dt.UTC)) == D(2025, 9, 30)


def test_national_day_2025_is_skipped(session, settings, people):
    # 10 working days: Sep 30, Oct 9, 10, 11 (make-up Saturday), 13–17, 20.
    with at(D(2025, 9, 29)):
        monday = _contact(session, settings, people)
    # Received late on Sep 30 Beijing time (still Sep 30 in UTC) is received on Sep 30.
    with at(D(2025, 9, 30), hour=23):
        tuesday = _contact(session, settings, people)
    assert monday.clock.started_on == D(2025, 9, 29) and monday.due_date == D(2025, 10, 20)
    assert tuesday.clock.started_on == D(2025, 9, 30) and tuesday.due_date == D(2025, 10, 21)
    assert not monday.calendar_missing


def test_admin_holidays_for_2027_move_open_cases_and_clear_the_warning(session, settings, people):
    admin = as_actor(session, people.admin)
    with at(D(2027, 9, 28)):
        case = _contact(session, settings, people)
        closed = _contact(session, settings, people)
        do_transition(session, settings, as_actor(session, people.reviewer), closed, "answer", "好")
        do_transition(session, settings, as_actor(session, people.opener), closed, "close")
    session.commit()
    assert (case.due_date, case.calendar_missing) == (D(2027, 10, 12), True)
    closed_due = closed.due_date

    with at(D(2027, 9, 29)):
        for day in range(1, 8):
            do_set_day(session, admin, D(2027, 10, day), "holiday", "国庆节")
    session.commit()
    session.refresh(case)
    # Sep 29, 30, then Oct 8, 11–15, 18, 19 (Oct 9 is a Saturday with no make-up entry).
    assert (case.due_date, case.calendar_missing) == (D(2027, 10, 19), False)
    assert closed.due_date == closed_due

    with at(D(2027, 9, 29)):
        do_import_csv(session, admin, "date,kind,name\n2027-10-09,workday,国庆节调休\n")
    assert case.due_date == D(2027, 10, 18)
    with at(D(2027, 9, 29)):
        do_delete_day(session, admin, D(2027, 10, 9))
    assert case.due_date == D(2027, 10, 19)


def test_switching_jurisdiction_changes_only_new_cases(session, settings, people):
    national = settings
    guide = settings.with_overrides(jurisdiction="lianyungang-guide")
    opener, admin = as_actor(session, people.opener), as_actor(session, people.admin)
    with at(D(2025, 9, 29)):
        old = do_open_case(session, national, opener, DISCLOSURE_CASE.key, "公开申请", "申请公开",
                           assignee_org=people.org)
        new = do_open_case(session, guide, opener, DISCLOSURE_CASE.key, "公开申请", "申请公开",
                           assignee_org=people.org)
        contact_old = _contact(session, national, people)
        contact_new = do_open_case(session, guide, opener, "contact", "咨询", "内容")
    assert (old.profile_key, old.clock.amount, old.due_date) == ("national", 20, D(2025, 11, 3))
    assert (new.profile_key, new.clock.amount, new.due_date) == ("lianyungang-guide", 15, D(2025, 10, 27))
    assert old.clock.extension_limit == 20 and new.clock.extension_limit == 15
    # Contact replies take the same time in both profiles.
    assert contact_old.due_date == contact_new.due_date
    # A recomputation (any calendar change) keeps each case on the clock it started with.
    with at(D(2025, 10, 1)):
        do_set_day(session, admin, D(2025, 12, 31), "holiday", "测试")
    assert (old.due_date, new.due_date) == (D(2025, 11, 3), D(2025, 10, 27))


def test_a_restarting_step_starts_a_fresh_clock(session, settings, people):
    opener, staff = as_actor(session, people.opener), as_actor(session, people.staff)
    with at(D(2025, 9, 29)):
        case = do_open_case(session, settings, opener, DISCLOSURE_CASE.key, "公开申请", "申请", assignee_org=people.org)
    with at(D(2025, 10, 9)):
        do_transition(session, settings, staff, case, "ask_supplement")
    with at(D(2025, 10, 20)):
        do_transition(session, settings, opener, case, "supplement")
    first, second = case.clocks
    assert (first.stopped_on, first.pauses[0].resumed_on) == (D(2025, 10, 20), D(2025, 10, 20))
    assert (second.started_on, second.amount, case.due_date) == (D(2025, 10, 20), 20, D(2025, 11, 17))
    with at(D(2025, 11, 1)):
        do_transition(session, settings, staff, case, "reply")
    assert case.clock is None and not case.is_open and case.due_date == D(2025, 11, 17)
