"""Working-day arithmetic for statutory deadlines.

Sources, in order of precedence: the administrator table (``CalendarDay``), the State Council
schedule shipped in ``chinesecalendar`` (including make-up working weekends, 调休), and finally
a plain Monday–Friday week for years neither covers — due dates computed that way are flagged
so the interface can warn that the deadline may move once the year's schedule is entered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.calendar.models import CalendarDay, DayKind

ONE_DAY = dt.timedelta(days=1)
SATURDAY = 5


@dataclass(frozen=True)
class DueDate:
    date: dt.date
    # True if any day counted lies in a year with neither package data nor admin entries.
    calendar_missing: bool


@lru_cache(maxsize=4096)
def _package_is_workday(day: dt.date) -> bool | None:
    """The package's answer, or None outside the years it ships (it raises NotImplementedError)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def package_covers(year: int) -> bool:
    # Asking the package rather than hard-coding its range keeps this right after an upgrade.
    return _package_is_workday(dt.date(year, 1, 1)) is not None


class WorkCalendar:
    """Answers "is this a working day?" and counts deadlines; immutable once built."""

    def __init__(self, overrides: Mapping[dt.date, bool], years_with_table: set[int]) -> None:
        self._overrides = dict(overrides)
        self._years_with_table = frozenset(years_with_table)

    def has_data(self, year: int) -> bool:
        return year in self._years_with_table or package_covers(year)

    def is_workday(self, d: dt.date) -> bool:
        if d in self._overrides:
            return self._overrides[d]
        from_package = _package_is_workday(d)
        if from_package is not None:
            return from_package
        return d.weekday() < SATURDAY

    def add_workdays(self, start: dt.date, n: int) -> DueDate:
        """The n-th working day after ``start``: the day of receipt is not counted (Civil Code
        Art. 201)."""
        _require_non_negative(n)
        day, counted, missing = start, 0, False
        while counted < n:
            day += ONE_DAY
            missing = missing or not self.has_data(day.year)
            if self.is_workday(day):
                counted += 1
        return DueDate(day, missing)

    def add_days(self, start: dt.date, n: int) -> DueDate:
        """``start`` + n natural days; a period ending on a non-working day ends on the next
        working day instead (Civil Code Art. 203)."""
        _require_non_negative(n)
        if n == 0:
            return DueDate(start, False)
        last = start + dt.timedelta(days=n)
        first = start + ONE_DAY
        missing = any(not self.has_data(year) for year in range(first.year, last.year + 1))
        while not self.is_workday(last):
            last += ONE_DAY
            missing = missing or not self.has_data(last.year)
        return DueDate(last, missing)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: zero when ``end`` is not after ``start``."""
        count, day = 0, start
        while day < end:
            day += ONE_DAY
            count += self.is_workday(day)
        return count


def _require_non_negative(n: int) -> None:
    if n < 0:
        raise ValueError(f"a deadline cannot count a negative number of days ({n})")


def load_calendar(session: Session) -> WorkCalendar:
    rows = session.execute(select(CalendarDay.date, CalendarDay.kind)).all()
    overrides = {day: kind == DayKind.WORKDAY for day, kind in rows}
    return WorkCalendar(overrides, {day.year for day in overrides})
