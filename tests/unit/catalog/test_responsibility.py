"""Lists derived from the open catalog: responsibility lists (CQ 16), the annual focus (SH 10) and
the periodic assessment of entries not yet opened (CQ 18)."""

from __future__ import annotations

import datetime as dt

import pytest

from kaifang.auth.permissions import Principal
from kaifang.catalog.responsibility import (
    do_record_nonopen_review,
    focus_entries,
    not_open_entries,
    providers_with_duties,
    responsibility_list,
)
from kaifang.errors import Conflict, Forbidden, NotFound
from tests.unit.cases.helpers import at
from tests.unit.catalog.review_helpers import World, draft, make_world, published

CLOSED = {"open_type": "non_open", "legal_basis": "《个人信息保护法》第十三条", "share_type": "not_shared"}


@pytest.fixture
def world(session, settings) -> World:
    return make_world(session, settings)


def test_duties_come_from_the_published_open_catalog(session, settings, world):
    with at(dt.date(2025, 3, 1)):
        monthly = published(session, settings, world, "bus-stops")
        published(session, settings, world, "realtime", update_frequency="real_time")
        published(session, settings, world, "closed", **CLOSED)
    draft(session, world, "not-yet")
    with at(dt.date(2025, 3, 20)):
        duties = {d.entry.name: d for d in responsibility_list(session, world.staff, world.transport)}
        assert set(duties) == {"bus-stops", "realtime"}  # neither drafts nor non-open entries
        assert duties["bus-stops"].next_due == dt.date(2025, 4, 1) and not duties["bus-stops"].late
        assert duties["realtime"].next_due is None and not duties["realtime"].late
    with at(dt.date(2025, 4, 2)):
        assert [d.late for d in responsibility_list(session, world.reviewer, world.transport)
                if d.entry.id == monthly.id] == [True]
        [(org, listed)] = providers_with_duties(session, world.staff)
        assert org.id == world.transport.id and len(listed) == 2
    assert providers_with_duties(session, world.health_staff) == []
    for outsider in (world.health_staff, world.citizen, world.expert):
        with pytest.raises(NotFound):
            responsibility_list(session, outsider, world.transport)


def test_annual_focus_shows_what_each_may_see(session, settings, world):
    published(session, settings, world, "bus-stops", annual_focus=True)
    draft(session, world, "planned", annual_focus=True)
    published(session, settings, world, "plain")
    assert [e.name for e in focus_entries(session, Principal.anonymous())] == ["bus-stops"]
    assert {e.name for e in focus_entries(session, world.reviewer)} == {"bus-stops", "planned"}


def test_entries_not_yet_opened_are_assessed_periodically(session, settings, world):
    with at(dt.date(2024, 2, 1)):  # more than a year before the next look
        closed = published(session, settings, world, "driver-points", **CLOSED)
        do_record_nonopen_review(session, world.reviewer, closed, "仍涉及个人信息")
        session.commit()
    other = draft(session, world, "patients", provider=world.health, by=world.health_staff, **CLOSED)
    published(session, settings, world, "bus-stops")
    with at(dt.date(2025, 3, 1)):
        rows = {r.entry.name: r for r in not_open_entries(session, world.reviewer)}
        assert set(rows) == {"driver-points", "patients"}
        assert rows["driver-points"].review_due and rows["patients"].last is None
        assert [r.entry.name for r in not_open_entries(session, world.staff)] == ["driver-points"]
        do_record_nonopen_review(session, world.staff, closed, "脱敏后可考虑有条件开放")
        session.commit()
        again = {r.entry.name: r for r in not_open_entries(session, world.reviewer)}
        assert again["driver-points"].last.reviewed_on == dt.date(2025, 3, 1)
        assert not again["driver-points"].review_due
    with pytest.raises(Forbidden):
        do_record_nonopen_review(session, world.staff, other, "")
    with pytest.raises(NotFound):
        not_open_entries(session, world.citizen)
    with pytest.raises(Conflict):
        do_record_nonopen_review(session, world.reviewer, published(session, settings, world, "open-one"), "")
