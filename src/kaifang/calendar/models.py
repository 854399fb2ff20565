"""The administrator-maintained holiday table; its entries take precedence over chinesecalendar."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kaifang.db import Base, IdMixin, utcnow


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    # A make-up working day (调休): a Saturday or Sunday worked in exchange for a longer holiday.
    WORKDAY = "workday"


class CalendarDay(IdMixin, Base):
    """One date whose status differs from (or confirms) the default Monday–Friday week."""

    __tablename__ = "calendar_day"
    __table_args__ = (CheckConstraint("kind IN ('holiday', 'workday')", name="kind"),)

    date: Mapped[dt.date] = mapped_column(unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(String(32))

    @property
    def is_workday(self) -> bool:
        return self.kind == DayKind.WORKDAY
