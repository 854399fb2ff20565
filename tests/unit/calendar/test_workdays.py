"""Working-day arithmetic around the holidays of 2025 and 2026.

Holiday facts, from the State Council notices:

* 国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）: New Year 1 Jan; Spring
  Festival 28 Jan (Tue) – 4 Feb (Tue), working Sun 26 Jan and Sat 8 Feb; Qingming 4–6 Apr; Labour
  Day 1 May (Thu) – 5 May (Mon), working Sun 27 Apr; Dragon Boat 31 May – 2 Jun; National Day and
  Mid-Autumn 1 Oct (Wed) – 8 Oct (Wed), working Sun 28 Sep and Sat 11 Oct.
* 国务院办公厅关于2026年部分节假日安排的通知（国办发明电〔2025〕7号）: New Year 1–3 Jan, working
  Sun 4 Jan; Spring Festival 15 Feb (Sun) – 23 Feb (Mon), working Sat 14 Feb and Sat 28 Feb;
  Qingming 4–6 Apr; Labour Day 1 May (Fri) – 5 May (Tue), working Sat 9 May; Dragon Boat
  19–21 Jun; Mid-Autumn 25–27 Sep; National Day 1 Oct (Thu) – 7 Oct (Wed), working Sun 20 Sep
  and Sat 10 Oct.

The day of receipt is not counted (Civil Code Art. 201); a natural-day period ending on a
non-working day ends on the next working day (Art. 203).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from kaifang.calendar.actions import do_set_day
from kaifang.calendar.workdays import DueDate, WorkCalendar, load_calendar, package_covers

D = dt.date
ONE_DAY = dt.timedelta(days=1)

NOTICE_HOLIDAYS: list[tuple[dt.date, dt.date]] = [
    # 国办发明电〔2024〕12号 (2025)
    (D(2025, 1, 1), D(2025, 1, 1)), (D(2025, 1, 28), D(2025, 2, 4)),
    (D(2025, 4, 4), D(2025, 4, 6)), (D(2025, 5, 1), D(2025, 5, 5)),
    (D(2025, 5, 31), D(2025, 6, 2)), (D(2025, 10, 1), D(2025, 10, 8)),
    # 国办发明电〔2025〕7号 (2026)
    (D(2026, 1, 1), D(2026, 1, 3)), (D(2026, 2, 15), D(2026, 2, 23)),
    (D(2026, 4, 4), D(2026, 4, 6)), (D(2026, 5, 1), D(2026, 5, 5)),
    (D(2026, 6, 19), D(2026, 6, 21)), (D(2026, 9, 25), D(2026, 9, 27)),
    (D(2026, 10, 1), D(2026, 10, 7)),
]
NOTICE_MAKE_UP_WORKDAYS = {
    D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11),
    D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10),
}

PACKAGE_ONLY = WorkCalendar({}, set())


def _notice_says_workday(day: dt.date) -> bool:
    if day in NOTICE_MAKE_UP_WORKDAYS:
        return True
    if any(first <= day <= last for first, last in NOTICE_HOLIDAYS):
        return False
    return day.weekday() < 5


def test_package_agrees_with_the_notices_on_every_day_of_2025_and_2026() -> None:
    day, disagreements = D(2025, 1, 1), []
    while day.year <= 2026:
        if PACKAGE_ONLY.is_workday(day) != _notice_says_workday(day):
            disagreements.append(day)
        day += ONE_DAY
    assert disagreements == []


@pytest.mark.parametrize("day", sorted(NOTICE_MAKE_UP_WORKDAYS))
def test_make_up_weekends_are_working_days(day: dt.date) -> None:
    assert day.weekday() >= 5
    assert PACKAGE_ONLY.is_workday(day)


ADD_WORKDAYS_VECTORS = [
    # --- Spring Festival 2025 ---
    # Fri 24 Jan + 1: Sat 25 off, Sun 26 is a make-up working day.
    (D(2025, 1, 24), 1, D(2025, 1, 26)),
    # Fri 24 Jan + 2: Sun 26 (1), Mon 27 (2).
    (D(2025, 1, 24), 2, D(2025, 1, 27)),
    # Fri 24 Jan + 3: 28 Jan – 4 Feb holiday, so Wed 5 Feb is the third.
    (D(2025, 1, 24), 3, D(2025, 2, 5)),
    # Wed 5 Feb + 3: Thu 6 (1), Fri 7 (2), Sat 8 make-up (3).
    (D(2025, 2, 5), 3, D(2025, 2, 8)),
    # Mon 20 Jan + 10: 21, 22, 23, 24 (4), Sun 26 (5), 27 (6), Feb 5, 6, 7 (9), Sat 8 (10).
    (D(2025, 1, 20), 10, D(2025, 2, 8)),
    # --- Labour Day 2025 ---
    # Fri 25 Apr + 1: Sat 26 off, Sun 27 make-up.
    (D(2025, 4, 25), 1, D(2025, 4, 27)),
    # Tue 29 Apr + 2: Wed 30 (1), 1–5 May holiday, Tue 6 May (2).
    (D(2025, 4, 29), 2, D(2025, 5, 6)),
    # --- National Day 2025 ---
    # Fri 26 Sep + 1: Sat 27 off, Sun 28 make-up.
    (D(2025, 9, 26), 1, D(2025, 9, 28)),
    # Tue 30 Sep + 1: 1–8 Oct holiday, Thu 9 Oct.
    (D(2025, 9, 30), 1, D(2025, 10, 9)),
    # Tue 30 Sep + 3: Thu 9 (1), Fri 10 (2), Sat 11 make-up (3).
    (D(2025, 9, 30), 3, D(2025, 10, 11)),
    # Disclosure reply, 20 wd from Mon 15 Sep: 16–19 (4), 22–26 (9), Sun 28 (10), 29, 30 (12),
    # Oct 9, 10 (14), Sat 11 (15), 13–17 (20).
    (D(2025, 9, 15), 20, D(2025, 10, 17)),
    # --- New Year 2026 ---
    # Wed 31 Dec 2025 + 1: 1–3 Jan holiday, Sun 4 Jan make-up.
    (D(2025, 12, 31), 1, D(2026, 1, 4)),
    # --- Spring Festival 2026 ---
    # Fri 13 Feb + 1: Sat 14 make-up.
    (D(2026, 2, 13), 1, D(2026, 2, 14)),
    # Fri 13 Feb + 2: Sat 14 (1), 15–23 Feb holiday, Tue 24 (2).
    (D(2026, 2, 13), 2, D(2026, 2, 24)),
    # Tue 24 Feb + 4: 25, 26, 27 (3), Sat 28 make-up (4).
    (D(2026, 2, 24), 4, D(2026, 2, 28)),
    # --- Labour Day 2026 ---
    # Thu 30 Apr + 1: 1–5 May holiday, Wed 6 May.
    (D(2026, 4, 30), 1, D(2026, 5, 6)),
    # Wed 6 May + 3: Thu 7 (1), Fri 8 (2), Sat 9 make-up (3).
    (D(2026, 5, 6), 3, D(2026, 5, 9)),
    # --- Mid-Autumn and National Day 2026 ---
    # Fri 18 Sep + 1: Sat 19 off, Sun 20 make-up.
    (D(2026, 9, 18), 1, D(2026, 9, 20)),
    # Thu 24 Sep + 1: 25–27 Sep Mid-Autumn, Mon 28.
    (D(2026, 9, 24), 1, D(2026, 9, 28)),
    # Wed 30 Sep + 3: 1–7 Oct holiday, Thu 8 (1), Fri 9 (2), Sat 10 make-up (3).
    (D(2026, 9, 30), 3, D(2026, 10, 10)),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_WORKDAYS_VECTORS)
def test_add_workdays(start: dt.date, n: int, expected: dt.date) -> None:
    assert PACKAGE_ONLY.add_workdays(start, n) == DueDate(expected, calendar_missing=False)


ADD_DAYS_VECTORS = [
    # Mon 13 Jan 2025 + 15 = Tue 28 Jan, a holiday until 4 Feb: the period ends Wed 5 Feb.
    (D(2025, 1, 13), 15, D(2025, 2, 5)),
    # Sat 13 Sep 2025 + 15 = Sun 28 Sep, a make-up working day: it stays.
    (D(2025, 9, 13), 15, D(2025, 9, 28)),
    # Wed 16 Apr 2025 + 15 = Thu 1 May, holiday until Mon 5 May: Tue 6 May.
    (D(2025, 4, 16), 15, D(2025, 5, 6)),
    # Tue 15 Sep 2026 + 15 = Wed 30 Sep, a working day.
    (D(2026, 9, 15), 15, D(2026, 9, 30)),
    # Wed 16 Sep 2026 + 15 = Thu 1 Oct, holiday until 7 Oct: Thu 8 Oct.
    (D(2026, 9, 16), 15, D(2026, 10, 8)),
    # Fri 30 Jan 2026 + 15 = Sat 14 Feb, a make-up working day: it stays.
    (D(2026, 1, 30), 15, D(2026, 2, 14)),
    # Sat 7 Mar 2026 + 15 = Sun 22 Mar, an ordinary weekend: Mon 23 Mar.
    (D(2026, 3, 7), 15, D(2026, 3, 23)),
]


@pytest.mark.parametrize(("start", "n", "expected"), ADD_DAYS_VECTORS)
def test_add_days_moves_off_non_working_days(start: dt.date, n: int, expected: dt.date) -> None:
    assert PACKAGE_ONLY.add_days(start, n) == DueDate(expected, calendar_missing=False)


def test_workdays_between_counts_the_half_open_interval() -> None:
    # (Fri 24 Jan, Sat 8 Feb 2025]: Sun 26, Mon 27, Wed 5, Thu 6, Fri 7, Sat 8.
    assert PACKAGE_ONLY.workdays_between(D(2025, 1, 24), D(2025, 2, 8)) == 6
    # (1 Oct, 8 Oct 2025] is all holiday.
    assert PACKAGE_ONLY.workdays_between(D(2025, 10, 1), D(2025, 10, 8)) == 0
    assert PACKAGE_ONLY.workdays_between(D(2025, 2, 8), D(2025, 1, 24)) == 0


def test_zero_days_is_the_start_itself() -> None:
    start = D(2025, 10, 1)  # a holiday: with nothing to count there is nothing to move
    assert PACKAGE_ONLY.add_workdays(start, 0) == DueDate(start, False)
    assert PACKAGE_ONLY.add_days(start, 0) == DueDate(start, False)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PACKAGE_ONLY.add_workdays(D(2025, 1, 1), -1)
    with pytest.raises(ValueError, match="negative"):
        PACKAGE_ONLY.add_days(D(2025, 1, 1), -1)


def test_admin_entries_take_precedence_over_the_package() -> None:
    # A local holiday on Thu 6 Feb 2025 and a worked Sunday 9 Feb.
    calendar = WorkCalendar({D(2025, 2, 6): False, D(2025, 2, 9): True}, {2025})
    assert not calendar.is_workday(D(2025, 2, 6))
    assert calendar.is_workday(D(2025, 2, 9))
    # Wed 5 Feb + 3: Fri 7 (1), Sat 8 make-up (2), Sun 9 admin working day (3).
    assert calendar.add_workdays(D(2025, 2, 5), 3).date == D(2025, 2, 9)


needs_2027_uncovered = pytest.mark.skipif(
    package_covers(2027), reason="chinesecalendar now ships 2027; the fallback needs a bare year")


@needs_2027_uncovered
def test_year_without_data_falls_back_to_monday_to_friday_and_is_flagged() -> None:
    assert PACKAGE_ONLY.has_data(2026)
    assert not PACKAGE_ONLY.has_data(2027)
    # Fri 5 Mar 2027 + 1: Mon 8 Mar under the Monday–Friday fallback.
    assert PACKAGE_ONLY.add_workdays(D(2027, 3, 5), 1) == DueDate(D(2027, 3, 8), True)
    # Wed 30 Dec 2026 + 3: Thu 31 Dec (1), Fri 1 Jan 2027 counted as working (2), Mon 4 Jan (3).
    assert PACKAGE_ONLY.add_workdays(D(2026, 12, 30), 3) == DueDate(D(2027, 1, 4), True)
    # Staying inside 2026 is not flagged even though the search starts near the boundary.
    assert PACKAGE_ONLY.add_workdays(D(2026, 12, 30), 1) == DueDate(D(2026, 12, 31), False)
    # Sat 2 Jan 2027 + 15 = Sun 17 Jan: Mon 18 Jan, flagged.
    assert PACKAGE_ONLY.add_days(D(2027, 1, 2), 15) == DueDate(D(2027, 1, 18), True)


@needs_2027_uncovered
def test_admin_entries_give_a_year_data() -> None:
    calendar = WorkCalendar({D(2027, 1, 1): False}, {2027})
    assert calendar.has_data(2027)
    assert calendar.add_workdays(D(2026, 12, 30), 3) == DueDate(D(2027, 1, 5), False)


@dataclass(frozen=True)
class Admin:
    id: str = "a" * 32
    audit_label: str = "admin (calendar test)"


@needs_2027_uncovered
def test_entering_2027_holidays_moves_the_due_date_and_clears_the_flag(session: Session) -> None:
    start = D(2026, 12, 30)
    assert load_calendar(session).add_workdays(start, 3) == DueDate(D(2027, 1, 4), True)

    do_set_day(session, Admin(), D(2027, 1, 1), "holiday", "元旦")
    session.commit()

    # Thu 31 Dec (1), Fri 1 Jan now a holiday, Mon 4 (2), Tue 5 (3); 2027 has data now.
    assert load_calendar(session).add_workdays(start, 3) == DueDate(D(2027, 1, 5), False)


# Dates on both sides of the package's last year, with admin entries in the first bare one.
MIXED = WorkCalendar({D(2027, 1, 1): False, D(2027, 2, 6): True, D(2025, 3, 3): False}, {2027})
starts = st.dates(min_value=D(2024, 6, 1), max_value=D(2028, 6, 30))
counts = st.integers(min_value=0, max_value=60)


@settings(max_examples=150, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60))
def test_result_is_a_working_day_strictly_after_start(start: dt.date, n: int) -> None:
    due = MIXED.add_workdays(start, n).date
    assert due > start
    assert MIXED.is_workday(due)


@settings(max_examples=150, deadline=None)
@given(start=starts, n=counts)
def test_add_workdays_is_strictly_monotone_in_n(start: dt.date, n: int) -> None:
    assert MIXED.add_workdays(start, n).date < MIXED.add_workdays(start, n + 1).date


@settings(max_examples=150, deadline=None)
@given(start=starts, n=counts)
def test_workdays_between_inverts_add_workdays(start: dt.date, n: int) -> None:
    assert MIXED.workdays_between(start, MIXED.add_workdays(start, n).date) == n


@settings(max_examples=150, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60))
def test_add_days_ends_on_a_working_day_no_earlier_than_n_days(start: dt.date, n: int) -> None:
    due = MIXED.add_days(start, n).date
    assert due >= start + dt.timedelta(days=n)
    assert MIXED.is_workday(due)
