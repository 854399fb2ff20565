"""Open-list review on the case engine: submit, return with reasons, resubmit, approve, publish,
withdraw and republish; expert opinions; who may take which step."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kaifang.cases.actions import do_transition
from kaifang.cases.models import CaseEntry, Notification
from kaifang.catalog.actions import do_update_entry
from kaifang.catalog.models import EntryRevision
from kaifang.catalog.queries import access_entry
from kaifang.catalog.review import (
    access_opinion_request,
    do_give_opinion,
    do_review_step,
    do_submit_entry,
    do_withdraw_entry,
    opinion_requests,
    review_case,
    review_queue,
)
from kaifang.catalog.search import SearchQuery, search_visible
from kaifang.catalog.search.models import SearchDoc
from kaifang.catalog.vocab import EntryStatus
from kaifang.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from tests.unit.cases.helpers import at
from tests.unit.catalog.review_helpers import World, actions_on, draft, make_world, published
from tests.unit.catalog.test_entries import entry_input


@pytest.fixture
def world(session, settings) -> World:
    return make_world(session, settings)


def _public_titles(session, world, text="公交"):
    return [e.name for e in search_visible(session, world.citizen, SearchQuery(text=text)).entries]


def test_submit_keeps_the_revision_and_opens_a_review_case(session, settings, world):
    entry = draft(session, world)
    case = do_submit_entry(session, settings, world.staff, entry, "请审核")
    session.commit()
    assert entry.status == EntryStatus.SUBMITTED and entry.review_case_id == case.id
    assert (case.workflow, case.state, case.subject_id) == ("catalog_review", "submitted", entry.id)
    assert case.assignee_role == "authority_reviewer" and case.due_date is not None
    revision = session.scalars(select(EntryRevision)).one()
    assert revision.number == 1 and revision.snapshot["title"] == "公交站点位置信息"
    assert [e for e, _c in review_queue(session, world.reviewer)] == [entry]
    with pytest.raises(Conflict):  # submitted entries are neither edited nor submitted twice
        do_update_entry(session, world.staff, entry, entry_input())
    with pytest.raises(Conflict):
        do_submit_entry(session, settings, world.staff, entry)


def test_return_needs_reasons_and_the_fixed_entry_is_reviewed_again(session, settings, world):
    entry = draft(session, world)
    first = do_submit_entry(session, settings, world.staff, entry)
    with pytest.raises(ValidationFailed) as exc:
        do_review_step(session, settings, world.reviewer, entry, "return", "  ")
    assert "reason" in exc.value.fields
    do_review_step(session, settings, world.reviewer, entry, "return", "请补充数据项说明")
    session.commit()
    assert entry.status == EntryStatus.RETURNED and first.state == "returned" and not first.is_open
    do_update_entry(session, world.staff, entry, entry_input(summary="补充后的说明"))
    second = do_submit_entry(session, settings, world.staff, entry)
    session.commit()
    assert second.id != first.id and entry.review_case_id == second.id
    numbers = session.scalars(select(EntryRevision.number).where(EntryRevision.entry_id == entry.id))
    assert sorted(numbers) == [1, 2]


def test_only_the_authority_approves_and_only_submitted_entries(session, settings, world):
    entry = draft(session, world)
    with pytest.raises(InvalidTransition):  # a draft has no review case
        do_review_step(session, settings, world.reviewer, entry, "approve")
    do_submit_entry(session, settings, world.staff, entry)
    for outsider in (world.staff, world.health_staff, world.expert, world.auditor):
        with pytest.raises(InvalidTransition):
            do_review_step(session, settings, outsider, entry, "approve")
    with pytest.raises(InvalidTransition):  # publishing needs an approval first
        do_review_step(session, settings, world.reviewer, entry, "publish")
    do_review_step(session, settings, world.reviewer, entry, "approve")
    with pytest.raises(InvalidTransition):
        do_review_step(session, settings, world.reviewer, entry, "approve")
    assert entry.status == EntryStatus.APPROVED
    with pytest.raises(NotFound):  # approved is not yet public
        access_entry(session, world.citizen, entry.name)


def test_publication_dates_search_and_audit(session, settings, world):
    with at(dt.date(2025, 3, 3)):
        entry = published(session, settings, world)
    assert entry.status == EntryStatus.PUBLISHED
    assert entry.published_at == entry.first_published_at
    assert entry.published_at.date() == dt.date(2025, 3, 3)
    assert access_entry(session, world.citizen, "bus-stops").id == entry.id
    assert _public_titles(session, world) == ["bus-stops"]
    case = review_case(session, entry)
    assert actions_on(session, entry.id) == ["catalog.create", "catalog.submit", "catalog.status",
                                             "catalog.status"]
    assert actions_on(session, case.id) == ["case.open", "case.approve", "case.publish"]


def test_withdrawal_hides_at_once_and_republishing_goes_through_review(session, settings, world):
    with at(dt.date(2025, 3, 3)):
        entry = published(session, settings, world)
    first = entry.first_published_at
    with pytest.raises(ValidationFailed):
        do_withdraw_entry(session, world.staff, entry, "")
    with pytest.raises(Forbidden):
        do_withdraw_entry(session, world.health_staff, entry, "泄露风险")
    with at(dt.date(2025, 4, 1)):
        do_withdraw_entry(session, world.staff, entry, "发现个人信息泄露风险，重新脱敏")
        session.commit()
    assert entry.status == EntryStatus.WITHDRAWN and entry.withdrawn_at is not None
    with pytest.raises(NotFound):
        access_entry(session, world.citizen, "bus-stops")
    assert _public_titles(session, world) == []
    assert session.scalar(select(SearchDoc).where(SearchDoc.entry_id == entry.id)) is None
    do_update_entry(session, world.staff, entry, entry_input(summary="已重新脱敏"))
    with at(dt.date(2025, 4, 8)):
        do_submit_entry(session, settings, world.staff, entry)
        session.commit()
        with pytest.raises(NotFound):  # back under review, still hidden
            access_entry(session, world.citizen, "bus-stops")
        do_review_step(session, settings, world.reviewer, entry, "approve")
        do_review_step(session, settings, world.reviewer, entry, "publish")
        session.commit()
    assert entry.first_published_at == first and entry.published_at.date() == dt.date(2025, 4, 8)
    assert _public_titles(session, world) == ["bus-stops"]
    assert "catalog.withdraw" in actions_on(session, entry.id)


def test_a_step_taken_on_the_generic_case_page_moves_the_entry(session, settings, world):
    entry = draft(session, world)
    case = do_submit_entry(session, settings, world.staff, entry)
    do_transition(session, settings, world.reviewer, case, "approve")
    do_transition(session, settings, world.reviewer, case, "publish")
    session.commit()
    assert entry.status == EntryStatus.PUBLISHED and entry.published_at is not None
    assert _public_titles(session, world) == ["bus-stops"]


def test_expert_opinion_reaches_the_authority_and_the_provider(session, settings, world):
    entry = draft(session, world, open_type="conditional", open_conditions="实名申请", legal_basis="《数据安全法》")
    do_submit_entry(session, settings, world.staff, entry)
    with pytest.raises(ValidationFailed):
        do_review_step(session, settings, world.reviewer, entry, "request_opinion", "")
    do_review_step(session, settings, world.reviewer, entry, "request_opinion", "脱敏后能否无条件开放？")
    session.commit()
    assert review_case(session, entry).state == "awaiting_opinion" and entry.status == EntryStatus.SUBMITTED
    assert session.scalar(select(Notification).where(Notification.user_id == world.expert.id)) is not None
    assert [e.name for e, _c in opinion_requests(session, world.expert)] == ["bus-stops"]
    for not_expert in (world.staff, world.citizen, world.reviewer):
        with pytest.raises(NotFound):
            access_opinion_request(session, not_expert, "bus-stops")
    with pytest.raises(InvalidTransition):  # not while the experts are being asked
        do_review_step(session, settings, world.reviewer, entry, "approve")
    with pytest.raises(InvalidTransition):
        do_give_opinion(session, settings, world.staff, entry, "我觉得可以")
    do_give_opinion(session, settings, world.expert, entry, "建议维持有条件开放，车牌需假名化。")
    session.commit()
    case = review_case(session, entry)
    assert case.state == "submitted" and opinion_requests(session, world.expert) == []
    bodies = session.scalars(select(CaseEntry.body).where(CaseEntry.case_id == case.id))
    assert "建议维持有条件开放，车牌需假名化。" in list(bodies)
    do_review_step(session, settings, world.reviewer, entry, "approve")


def test_providers_submit_their_own_and_a_department_for_its_sub_units(session, settings, world):
    entry = draft(session, world, provider=world.transit)
    with pytest.raises(Forbidden):
        do_submit_entry(session, settings, world.health_staff, entry)
    do_submit_entry(session, settings, world.staff, entry)
    assert entry.submitted_by_org_id == world.transport.id
    own = draft(session, world, "sub-own", provider=world.transit)
    do_submit_entry(session, settings, world.sub_staff, own)
    assert own.submitted_by_org_id is None
