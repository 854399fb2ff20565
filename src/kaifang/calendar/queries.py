"""Reads of the holiday table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.calendar.models import CalendarDay
from kaifang.calendar.workdays import package_covers


def list_days(session: Session, year: int | None = None) -> list[CalendarDay]:
    """The administrator's entries in date order, all of them or those of one year."""
    query = select(CalendarDay).order_by(CalendarDay.date)
    if year is not None:
        query = query.where(CalendarDay.date >= dt.date(year, 1, 1),
                            CalendarDay.date < dt.date(year + 1, 1, 1))
    return list(session.scalars(query))


def years_with_entries(session: Session) -> set[int]:
    return {day.year for day in session.scalars(select(CalendarDay.date))}


def years_without_data(session: Session, years: Iterable[int]) -> list[int]:
    """Those of ``years`` that neither the package nor the administrator table covers, sorted:
    deadlines falling in them are counted Monday–Friday and flagged."""
    in_table = years_with_entries(session)
    return sorted({y for y in years if y not in in_table and not package_covers(y)})
