"""Subscribers told when the administrator table changes, so open cases can recompute due dates.

The calendar imports no other domain: the case engine appends its recompute function at start-up.
Subscribers run inside the caller's transaction, after the change has been flushed.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

CalendarListener = Callable[[Session], None]

on_calendar_changed: list[CalendarListener] = []


def notify_calendar_changed(session: Session) -> None:
    session.flush()
    for listener in list(on_calendar_changed):
        listener(session)
