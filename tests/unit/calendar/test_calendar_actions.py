"""Writes to the holiday table: audit events, change hooks, CSV import all-or-nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.models import AuditEvent
from kaifang.calendar import on_calendar_changed
from kaifang.calendar.actions import do_delete_day, do_import_csv, do_set_day
from kaifang.calendar.queries import list_days, years_without_data
from kaifang.calendar.workdays import package_covers
from kaifang.errors import NotFound, ValidationFailed
from kaifang.i18n import reset_locale, set_locale

D = dt.date


@dataclass(frozen=True)
class Admin:
    id: str = "b" * 32
    audit_label: str = "calendar admin"


ADMIN = Admin()


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = set_locale("en")
    yield
    reset_locale(token)


@pytest.fixture
def changes() -> Iterator[list[Session]]:
    """Sessions passed to the change hook, one per notification."""
    seen: list[Session] = []
    on_calendar_changed.append(seen.append)
    yield seen
    on_calendar_changed.remove(seen.append)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_set_day_creates_then_replaces_and_audits(session: Session, changes: list[Session]) -> None:
    do_set_day(session, ADMIN, D(2027, 2, 6), "holiday", "春节")
    row = do_set_day(session, ADMIN, D(2027, 2, 6), "workday", " 春节调休 ", "补班")
    session.commit()

    [stored] = list_days(session, 2027)
    assert stored.id == row.id
    assert (stored.kind, stored.name, stored.note) == ("workday", "春节调休", "补班")
    assert stored.created_by_id == ADMIN.id
    assert _actions(session) == ["calendar.set_day", "calendar.set_day"]
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None
    assert last.data["previous"]["kind"] == "holiday"
    assert changes == [session, session]


def test_set_day_validates_every_field(session: Session, changes: list[Session]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        do_set_day(session, ADMIN, D(2027, 1, 1), "vacation", "  ", "x" * 501)
    assert set(caught.value.fields) == {"kind", "name", "note"}
    assert list_days(session) == []
    assert changes == []


def test_delete_day(session: Session, changes: list[Session]) -> None:
    do_set_day(session, ADMIN, D(2027, 1, 1), "holiday", "元旦")
    do_delete_day(session, ADMIN, D(2027, 1, 1))
    session.commit()
    assert list_days(session) == []
    assert _actions(session) == ["calendar.set_day", "calendar.delete_day"]
    assert len(changes) == 2
    with pytest.raises(NotFound, match="2027-01-01"):
        do_delete_day(session, ADMIN, D(2027, 1, 1))


GOOD_CSV = (
    "\ufeffdate,kind,name,note\n"
    "2027-01-01,holiday,元旦,\n"
    "\n"
    "2027-02-06,WORKDAY,春节调休,\"补班, 周六\"\n"
    "2027-02-07,holiday,春节\n"
)


def test_import_csv_writes_all_rows_with_one_event(
    session: Session, changes: list[Session]
) -> None:
    assert do_import_csv(session, ADMIN, GOOD_CSV) == 3
    session.commit()
    rows = list_days(session, 2027)
    assert [(r.date, r.kind, r.name, r.note) for r in rows] == [
        (D(2027, 1, 1), "holiday", "元旦", ""),
        (D(2027, 2, 6), "workday", "春节调休", "补班, 周六"),
        (D(2027, 2, 7), "holiday", "春节", ""),
    ]
    assert _actions(session) == ["calendar.import"]
    assert changes == [session]


def test_import_replaces_existing_dates(session: Session) -> None:
    do_set_day(session, ADMIN, D(2027, 1, 1), "workday", "wrong")
    assert do_import_csv(session, ADMIN, "2027-01-01,holiday,元旦\n") == 1
    [row] = list_days(session)
    assert (row.kind, row.name) == ("holiday", "元旦")


def test_bad_line_writes_nothing_and_names_the_line(
    session: Session, changes: list[Session]
) -> None:
    text = "date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,春节\n"
    with pytest.raises(ValidationFailed) as caught:
        do_import_csv(session, ADMIN, text)
    [message] = caught.value.fields["file"]
    assert message.startswith("Line 3:")
    assert "2027-13-01" in message
    session.commit()
    assert list_days(session) == []
    assert _actions(session) == []
    assert changes == []


def test_every_bad_line_is_reported(session: Session) -> None:
    text = (
        "2027-01-01,holiday,元旦\n"
        "2027-01-02,holiday\n"             # too few columns
        "2027-01-03,rest,休息\n"           # unknown kind
        "2027-01-01,holiday,元旦重复\n"    # duplicate date
        "2027-01-04,holiday,\n"            # empty name
    )
    with pytest.raises(ValidationFailed) as caught:
        do_import_csv(session, ADMIN, text)
    messages = caught.value.fields["file"]
    assert [m.split(":")[0] for m in messages] == ["Line 2", "Line 3", "Line 4", "Line 5"]
    assert "line 1" in messages[2]
    assert list_days(session) == []


def test_empty_file_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="no calendar rows"):
        do_import_csv(session, ADMIN, "date,kind,name\n\n")


def test_messages_are_translated_to_chinese(session: Session) -> None:
    token = set_locale("zh_CN")
    try:
        with pytest.raises(ValidationFailed) as caught:
            do_import_csv(session, ADMIN, "2027-01-01,假日,元旦\n")
    finally:
        reset_locale(token)
    [message] = caught.value.fields["file"]
    assert message.startswith("第 1 行：")
    assert "类型必须是" in message


def test_list_days_filters_by_year(session: Session) -> None:
    do_import_csv(session, ADMIN, "2027-01-01,holiday,元旦\n2028-01-01,holiday,元旦\n")
    assert [r.date.year for r in list_days(session)] == [2027, 2028]
    assert [r.date for r in list_days(session, 2028)] == [D(2028, 1, 1)]


@pytest.mark.skipif(package_covers(2027), reason="chinesecalendar now ships 2027")
def test_years_without_data(session: Session) -> None:
    assert years_without_data(session, [2027, 2025, 2026, 2027]) == [2027]
    do_set_day(session, ADMIN, D(2027, 1, 1), "holiday", "元旦")
    assert years_without_data(session, [2025, 2027]) == []
