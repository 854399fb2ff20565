"""The admin holiday table: add, delete, CSV import; open cases follow every change."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from kaifang.auth.models import Role
from kaifang.calendar.models import CalendarDay
from kaifang.cases.actions import do_open_case
from kaifang.cases.models import Case
from tests.factories import make_user
from tests.functional.conftest import login, post_form
from tests.unit.cases.helpers import as_actor, at

PAGE = "/admin/calendar?year=2027"


def _case_due(session, case_id: str) -> tuple[dt.date | None, bool]:
    session.expire_all()
    case = session.get(Case, case_id)
    assert case is not None
    return case.due_date, case.calendar_missing


def test_admin_enters_2027_national_day_and_open_cases_move(session, settings, new_client):
    make_user(session, settings, "admin", roles=(Role.PLATFORM_ADMIN,))
    citizen = make_user(session, settings, "citizen")
    with at(dt.date(2027, 9, 28)):
        case = do_open_case(session, settings, as_actor(session, citizen), "contact", "咨询", "内容")
    session.commit()
    assert _case_due(session, case.id) == (dt.date(2027, 10, 12), True)

    admin = new_client()
    login(admin, "admin")
    page = admin.get(PAGE)
    assert page.status_code == 200 and 'data-testid="calendar-missing-years"' in page.text
    for day in range(1, 8):
        response = post_form(admin, "/admin/calendar/days",
                             {"date": f"2027-10-0{day}", "kind": "holiday", "name": "国庆节", "note": ""}, PAGE)
        assert response.status_code == 303
    assert "2027-10-07" in admin.get(PAGE).text
    assert _case_due(session, case.id) == (dt.date(2027, 10, 19), False)

    assert post_form(admin, "/admin/calendar/days/2027-10-07/delete", {}, PAGE).status_code == 303
    assert _case_due(session, case.id)[0] == dt.date(2027, 10, 18)


def test_csv_import_is_all_or_nothing(session, settings, new_client):
    make_user(session, settings, "admin", roles=(Role.PLATFORM_ADMIN,))
    session.commit()
    admin = new_client()
    login(admin, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin.get(PAGE).text).group(1)

    def upload(content: bytes):
        return admin.post("/admin/calendar/import", data={"csrf_token": token, "year": "2027"},
                          files={"file": ("2027.csv", content, "text/csv")})

    bad = upload("date,kind,name\n2027-02-06,holiday,春节\n2027-02-30,holiday,春节\n".encode())
    assert bad.status_code == 422 and "2027-02-30" in bad.text
    assert session.scalars(select(CalendarDay)).all() == []
    good = upload("\ufeffdate,kind,name\n2027-02-06,holiday,春节\n2027-02-20,workday,春节调休\n".encode("gbk", "ignore"))
    assert good.status_code == 303
    session.expire_all()
    assert [(d.date.isoformat(), d.kind) for d in session.scalars(select(CalendarDay).order_by(CalendarDay.date))] == [
        ("2027-02-06", "holiday"), ("2027-02-20", "workday")]
    invalid = post_form(admin, "/admin/calendar/days", {"date": "2027-13-01", "kind": "holiday", "name": "x"}, PAGE)
    assert invalid.status_code == 422


def test_only_calendar_managers_reach_the_page(session, settings, new_client):
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    session.commit()
    reviewer = new_client()
    login(reviewer, "reviewer")
    assert reviewer.get(PAGE).status_code == 403
    assert post_form(reviewer, "/admin/calendar/days",
                     {"date": "2027-10-01", "kind": "holiday", "name": "国庆节"}).status_code == 403
