"""An application not evaluated in time (LYG 19: 10 working days) across National Day 2025: overdue
the day after its due date, first in the provider's inbox and listed for the authority."""

from __future__ import annotations

import datetime as dt

from kaifang.applications.actions import do_step
from kaifang.applications.queries import compliance
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.queries import inbox
from kaifang.cases.reminders import mark_overdue
from tests.functional.conftest import login
from tests.unit.applications.helpers import apply, world_with_entry
from tests.unit.cases.helpers import at

D = dt.date


def test_an_application_left_unanswered_over_the_holiday_is_overdue_on_the_21st(client, new_client, session,
                                                                                settings):
    world, entry = world_with_entry(session, settings)
    with at(D(2025, 9, 29)):
        app = apply(session, settings, world.citizen, entry, use_from="2025-10-09", use_until="2026-10-08")
        late = apply(session, settings, world.other, entry, use_from="2025-10-09", use_until="2026-10-08")
    # Sep 30, Oct 9, 10, 11 (make-up working Saturday), 13–17, 20: the tenth working day.
    assert load_calendar(session).add_workdays(D(2025, 9, 29), 10).date == D(2025, 10, 20)
    assert app.case.due_date == D(2025, 10, 20)
    with at(D(2025, 10, 20), hour=23):
        assert mark_overdue(session, settings) == 0
    with at(D(2025, 10, 21), hour=0):
        assert mark_overdue(session, settings) == 2
        do_step(session, settings, world.staff, late, "reject", "申请用途超出该数据的开放条件。")
    session.commit()
    assert app.case.overdue and inbox(session, world.staff)[0].id == app.id

    login(client, "staff")
    tasks = client.get("/tasks").text
    first_row = tasks.split('data-testid="case-row"')[1].split("</tr>")[0]
    assert f'href="/cases/{app.id}"' in first_row and 'data-testid="overdue"' in first_row
    received = client.get("/applications/received").text
    assert 'data-testid="overdue"' in received

    [row] = compliance(session, world.reviewer)
    assert row.provider.id == world.provider.id
    assert [a.id for a in row.overdue_open] == [app.id] and [a.id for a in row.answered_late] == [late.id]
    reviewer = new_client()
    login(reviewer, "reviewer")
    page = reviewer.get("/supervision/compliance").text
    assert f'href="/applications/{app.id}"' in page and 'data-testid="overdue-count">1<' in page
