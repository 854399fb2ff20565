"""Catalog change requests (CQ 17, GY 13) with frozen time across the 2025 National Day holiday
(1–8 October off; Sunday 28 September and Saturday 11 October worked)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kaifang.cases.actions import do_transition
from kaifang.cases.models import Case
from kaifang.catalog.changes import (
    access_change,
    do_change_step,
    do_file_change,
    do_record_change,
    do_request_change,
    open_change,
    proposed_diff,
)
from kaifang.catalog.models import EntryRevision
from kaifang.catalog.queries import access_entry
from kaifang.catalog.search import SearchQuery, search_visible
from kaifang.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from tests.unit.cases.helpers import at
from tests.unit.catalog.review_helpers import World, actions_on, draft, make_world, published
from tests.unit.catalog.test_entries import entry_input

LAW_CHANGED = dt.date(2025, 9, 26)  # a Friday before the holiday
NEW_BASIS = {"open_type": "conditional", "open_conditions": "实名认证后申请", "legal_basis": "《示范市公共交通条例》（2025年修订）第二十条"}


@pytest.fixture
def world(session, settings) -> World:
    return make_world(session, settings)


@pytest.fixture
def entry(session, settings, world):
    with at(dt.date(2025, 9, 1)):
        return published(session, settings, world)


def _case(session, change) -> Case:
    return session.get(Case, change.case_id)


def test_filing_and_review_clocks_count_working_days_across_national_day(session, settings, world, entry):
    with at(dt.date(2025, 9, 30)):
        change = do_record_change(session, settings, world.staff, entry, "law", LAW_CHANGED.isoformat(),
                                  "《示范市公共交通条例》修订，站点坐标须标注坐标系")
        session.commit()
    # 10 working days from 26 September, the day itself not counted: 28 Sep (make-up), 29, 30, 9 Oct,
    # 10, 11 (make-up Saturday), 13, 14, 15, 16.
    assert change.filing_due == dt.date(2025, 10, 16) == _case(session, change).due_date
    assert _case(session, change).state == "awaiting_filing"
    with at(dt.date(2025, 10, 9)):
        do_file_change(session, settings, world.staff, change, entry_input(summary="坐标为 GCJ-02"))
        session.commit()
    case = _case(session, change)
    # The authority's 5 working days from 9 October: 10, 11 (make-up Saturday), 13, 14, 15.
    assert case.state == "under_review" and case.due_date == dt.date(2025, 10, 15)
    assert change.filed_on == dt.date(2025, 10, 9) and not change.filed_late
    assert [c.stopped_on for c in case.clocks] == [dt.date(2025, 10, 9), None]


def test_a_change_filed_after_the_period_is_marked_late(session, settings, world, entry):
    with at(dt.date(2025, 10, 20)):
        change = do_request_change(session, settings, world.staff, entry,
                                   ("duties", LAW_CHANGED.isoformat(), "职能划转至公共交通服务中心"), entry_input())
        session.commit()
    assert change.filing_due == dt.date(2025, 10, 16) and change.filed_late


def test_guiyang_adjusts_within_fifteen_natural_days(session, settings, world, entry):
    gy = settings.with_overrides(jurisdiction="guiyang")
    with at(dt.date(2025, 9, 22)):
        change = do_record_change(session, gy, world.staff, entry, "law", "2025-09-20", "条例修订")
        session.commit()
    # GY 13: 15 days from 20 September end on 5 October, a holiday, so the period ends on 9 October.
    assert change.filing_due == dt.date(2025, 10, 9)
    clock = _case(session, change).clocks[0]
    assert (clock.amount, clock.unit) == (15, "days") and "GY 13" in clock.source


def test_approval_applies_the_change_keeps_a_revision_and_reindexes(session, settings, world, entry):
    with at(dt.date(2025, 10, 9)):
        change = do_request_change(session, settings, world.staff, entry,
                                   ("law", LAW_CHANGED.isoformat(), "条例修订"),
                                   entry_input(title="公交站点位置信息（含坐标系）", **NEW_BASIS))
        session.commit()
    keys = [key for key, _before, _after in proposed_diff(change)]
    assert keys == ["title", "open_type", "open_conditions", "legal_basis"]
    assert entry.title == "公交站点位置信息"  # unchanged until the authority approves
    with pytest.raises(InvalidTransition):
        do_change_step(session, settings, world.staff, change, "approve_change")
    with at(dt.date(2025, 10, 13)):
        do_change_step(session, settings, world.reviewer, change, "approve_change")
        session.commit()
    assert entry.title == "公交站点位置信息（含坐标系）" and entry.open_type == "conditional"
    assert entry.status == "published" and change.applied_at is not None
    assert [k for k, _b, _a in proposed_diff(change)] == keys  # still shows what it replaced
    assert session.scalar(select(EntryRevision.number).order_by(EntryRevision.number.desc())) == 2
    found = search_visible(session, world.citizen, SearchQuery(text="坐标系")).entries
    assert [e.name for e in found] == ["bus-stops"]
    assert {"catalog.change_record", "catalog.change_file", "catalog.change_apply"} <= set(actions_on(session, entry.id))
    assert open_change(session, entry) is None


def test_rejection_needs_reasons_and_leaves_the_entry(session, settings, world, entry):
    change = do_request_change(session, settings, world.staff, entry, ("law", "2025-09-26", "修订"),
                               entry_input(**NEW_BASIS))
    with pytest.raises(ValidationFailed):
        do_change_step(session, settings, world.reviewer, change, "reject_change", "")
    do_change_step(session, settings, world.reviewer, change, "reject_change", "修订条款不涉及本目录")
    session.commit()
    assert entry.open_type == "unconditional" and change.applied_at is None
    assert access_entry(session, world.citizen, entry.name).id == entry.id


def test_the_authority_records_and_the_provider_files(session, settings, world, entry):
    change = do_record_change(session, settings, world.reviewer, entry, "law", "2025-09-26", "上位法修订")
    session.commit()
    case = _case(session, change)
    assert case.assignee_org_id == world.transport.id
    with pytest.raises(InvalidTransition):  # the generic page cannot file: the proposal is missing
        do_transition(session, settings, world.staff, case, "file")
    session.rollback()
    with pytest.raises(Forbidden):
        do_file_change(session, settings, world.health_staff, change, entry_input())
    do_request_change(session, settings, world.staff, entry, ("", "", ""), entry_input(summary="新说明"))
    assert change.proposed is not None and _case(session, change).state == "under_review"


def test_refusals(session, settings, world, entry):
    with pytest.raises(Forbidden):
        do_record_change(session, settings, world.health_staff, entry, "law", "2025-09-26", "x")
    with pytest.raises(ValidationFailed) as exc:
        do_request_change(session, settings, world.staff, entry, ("war", "2999-01-01", ""),
                          entry_input(open_type="non_open"))
    assert {"cause", "changed_on", "explanation", "legal_basis"} <= set(exc.value.fields)
    do_record_change(session, settings, world.staff, entry, "law", "2025-09-26", "修订")
    with pytest.raises(Conflict):
        do_record_change(session, settings, world.staff, entry, "law", "2025-09-26", "again")
    not_published = draft(session, world, "drafty")
    with pytest.raises(Conflict):
        do_record_change(session, settings, world.staff, not_published, "law", "2025-09-26", "x")
    change = open_change(session, entry)
    with pytest.raises(NotFound):
        access_change(session, world.health_staff, change.id)
    assert access_change(session, world.auditor, change.id) is change
