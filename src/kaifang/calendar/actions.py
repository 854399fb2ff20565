"""Writes to the holiday table.

Each ``do_*`` records its audit event in the caller's transaction, then tells the subscribers of
``on_calendar_changed`` so open cases get their due dates recomputed; none commits. Permission
checks belong to the callers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import Actor, record
from kaifang.calendar.hooks import notify_calendar_changed
from kaifang.calendar.models import CalendarDay, DayKind
from kaifang.errors import FieldErrors, NotFound, ValidationFailed
from kaifang.i18n import _

MAX_NAME_LENGTH = 50
MAX_NOTE_LENGTH = 500
CSV_COLUMNS = ("date", "kind", "name", "note")
TARGET_TYPE = "calendar_day"


@dataclass(frozen=True)
class DayEntry:
    date: dt.date
    kind: DayKind
    name: str
    note: str


def entry_errors(kind: str, name: str, note: str) -> dict[str, str]:
    """Problems of one entry by field name, in the user's language (empty when valid)."""
    errors: dict[str, str] = {}
    if kind not in set(DayKind):
        errors["kind"] = _("The kind must be “holiday” or “workday”.")
    if not name.strip():
        errors["name"] = _("A name is required, for example 春节.")
    elif len(name.strip()) > MAX_NAME_LENGTH:
        errors["name"] = _("The name may have at most %(max)s characters.", max=MAX_NAME_LENGTH)
    if len(note) > MAX_NOTE_LENGTH:
        errors["note"] = _("The note may have at most %(max)s characters.", max=MAX_NOTE_LENGTH)
    return errors


def _entry_data(row: CalendarDay) -> dict[str, Any]:
    return {"date": row.date.isoformat(), "kind": row.kind, "name": row.name, "note": row.note}


def _find(session: Session, day: dt.date) -> CalendarDay | None:
    return session.scalars(select(CalendarDay).where(CalendarDay.date == day)).first()


def _upsert(
    session: Session, actor: Actor, entry: DayEntry
) -> tuple[CalendarDay, dict[str, Any] | None]:
    """Creates or replaces the entry of a date; returns it with what it replaced, if anything."""
    row = _find(session, entry.date)
    previous = _entry_data(row) if row else None
    if row is None:
        row = CalendarDay(date=entry.date, created_by_id=actor.id or None)
        session.add(row)
    row.kind, row.name, row.note = entry.kind.value, entry.name, entry.note
    return row, previous


def do_set_day(
    session: Session, actor: Actor, day: dt.date, kind: str, name: str, note: str = ""
) -> CalendarDay:
    """Marks ``day`` as a holiday or a make-up working day, replacing any entry of that date."""
    found = entry_errors(kind, name, note)
    if found:
        errors = FieldErrors()
        for field, message in found.items():
            errors.add(field, message)
        errors.raise_if_any()
    entry = DayEntry(day, DayKind(kind), name.strip(), note.strip())
    row, previous = _upsert(session, actor, entry)
    session.flush()
    record(session, actor, "calendar.set_day", target_type=TARGET_TYPE, target_id=day.isoformat(),
           data={**_entry_data(row), "previous": previous})
    notify_calendar_changed(session)
    return row


def do_delete_day(session: Session, actor: Actor, day: dt.date) -> None:
    """Removes the entry of ``day``: the package (or Monday–Friday) decides that date again."""
    row = _find(session, day)
    if row is None:
        raise NotFound(_("There is no calendar entry for %(date)s.", date=day.isoformat()))
    removed = _entry_data(row)
    session.delete(row)
    session.flush()
    record(session, actor, "calendar.delete_day", target_type=TARGET_TYPE,
           target_id=day.isoformat(), data={"removed": removed})
    notify_calendar_changed(session)


def do_import_csv(session: Session, actor: Actor, text: str) -> int:
    """Imports ``date,kind,name[,note]`` rows (header optional); returns how many were written.

    Every row is checked before any is written, so a bad file changes nothing.
    """
    entries = parse_calendar_csv(text)
    replaced: list[dict[str, Any]] = []
    for entry in entries:
        _row, previous = _upsert(session, actor, entry)
        if previous:
            replaced.append(previous)
    session.flush()
    record(session, actor, "calendar.import", target_type=TARGET_TYPE, data={
        "count": len(entries),
        "entries": [[e.date.isoformat(), e.kind.value, e.name] for e in entries],
        "replaced": replaced,
    })
    notify_calendar_changed(session)
    return len(entries)


def parse_calendar_csv(text: str) -> list[DayEntry]:
    """All entries of the file, or ``ValidationFailed`` on ``file`` naming every bad line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # spreadsheet exports add a BOM
    entries: list[DayEntry] = []
    problems: list[str] = []
    first_line_of: dict[dt.date, int] = {}
    for row in reader:
        line = reader.line_num
        if _is_blank(row) or (line == 1 and _is_header(row)):
            continue
        entry, problem = _parse_row(row)
        if entry is not None and entry.date in first_line_of:
            problem = _("%(date)s is listed already on line %(first)s.",
                        date=entry.date.isoformat(), first=first_line_of[entry.date])
        if problem:
            problems.append(_("Line %(line)s: %(problem)s", line=line, problem=problem))
        elif entry is not None:
            first_line_of[entry.date] = line
            entries.append(entry)
    if not entries and not problems:
        problems.append(_("The file has no calendar rows."))
    if problems:
        raise ValidationFailed({"file": problems})
    return entries


def _is_blank(row: list[str]) -> bool:
    return not any(cell.strip() for cell in row)


def _is_header(row: list[str]) -> bool:
    return row[0].strip().lower() == CSV_COLUMNS[0]


def _parse_row(row: list[str]) -> tuple[DayEntry | None, str]:
    """One CSV row as an entry, or the reason it is not one."""
    if len(row) not in (3, 4):
        return None, _("expected the columns date,kind,name and optionally note; found %(count)s.",
                       count=len(row))
    raw_date, kind, name, note = (cell.strip() for cell in [*row, ""][:4])
    try:
        day = dt.date.fromisoformat(raw_date)
    except ValueError:
        return None, _("“%(value)s” is not a date in the form YYYY-MM-DD.", value=raw_date)
    kind = kind.lower()
    errors = entry_errors(kind, name, note)
    if errors:
        return None, " ".join(errors.values())
    return DayEntry(day, DayKind(kind), name, note), ""
