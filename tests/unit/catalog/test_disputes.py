"""Ownership disputes (CQ 15): negotiation → mediation by the authority → the government's decision,
with frozen time across the 2025 National Day holiday."""

from __future__ import annotations

import datetime as dt

import pytest

from kaifang.cases.actions import do_transition
from kaifang.cases.models import Case
from kaifang.catalog.disputes import access_dispute, disputes_for, do_dispute_step, do_open_dispute
from kaifang.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from tests.unit.cases.helpers import at
from tests.unit.catalog.review_helpers import World, actions_on, make_world, published


@pytest.fixture
def world(session, settings) -> World:
    return make_world(session, settings)


def _open(session, settings, world, entry=None):
    return do_open_dispute(session, settings, world.health_staff, world.health, world.transport,
                           "医院周边公交站点", "站点数据由卫健委采集，应由我委开放。", entry)


def test_negotiation_mediation_and_government_decision(session, settings, world):
    with at(dt.date(2025, 9, 1)):
        entry = published(session, settings, world, "clinic-stops")
    with at(dt.date(2025, 9, 30)):
        dispute = _open(session, settings, world, entry)
        session.commit()
    case = session.get(Case, dispute.case_id)
    # Negotiation: 5 working days from 30 September: 9, 10, 11 (make-up Saturday), 13, 14 October.
    assert (case.state, case.due_date) == ("negotiating", dt.date(2025, 10, 14))
    assert case.assignee_org_id == world.transport.id
    with at(dt.date(2025, 10, 15)):
        with pytest.raises(InvalidTransition):  # the authority mediates only when asked
            do_dispute_step(session, settings, world.reviewer, dispute, "mediate", "x", world.health.id)
        do_dispute_step(session, settings, world.staff, dispute, "ask_mediation", "协商未果")
        session.commit()
    # Mediation: the authority's 5 working days from 15 October: 16, 17, 20, 21, 22.
    assert (case.state, case.due_date) == ("mediating", dt.date(2025, 10, 22))
    with at(dt.date(2025, 10, 21)):
        do_dispute_step(session, settings, world.reviewer, dispute, "refer", "调解未果，报市政府决定")
        session.commit()
    assert case.state == "with_government" and case.clock is None
    with pytest.raises(ValidationFailed) as exc:
        do_dispute_step(session, settings, world.reviewer, dispute, "record_decision", "市政府决定", "")
    assert "owner" in exc.value.fields
    session.rollback()
    with at(dt.date(2025, 11, 3)):
        do_dispute_step(session, settings, world.reviewer, dispute, "record_decision",
                        "市政府〔2025〕12号：由卫健委开放", world.health.id)
        session.commit()
    assert case.state == "decided" and not case.is_open and dispute.owner_org_id == world.health.id
    assert entry.provider_id == world.health.id  # the entry moves to the owner
    assert "catalog.transfer" in actions_on(session, entry.id)
    assert {"catalog.dispute_open", "catalog.dispute_resolve"} <= set(actions_on(session, dispute.id))
    assert actions_on(session, case.id) == ["case.open", "case.ask_mediation", "case.refer", "case.record_decision"]


def test_agreement_between_the_providers_ends_the_dispute(session, settings, world):
    dispute = _open(session, settings, world)
    session.commit()
    with pytest.raises(InvalidTransition):  # only the parties record their agreement
        do_dispute_step(session, settings, world.reviewer, dispute, "agree", "一致", world.transport.id)
    session.rollback()
    do_dispute_step(session, settings, world.staff, dispute, "agree", "双方同意由交通局开放", world.transport.id)
    session.commit()
    assert session.get(Case, dispute.case_id).state == "agreed" and dispute.owner_org_id == world.transport.id


def test_the_generic_case_page_cannot_end_a_dispute_without_an_owner(session, settings, world):
    dispute = _open(session, settings, world)
    case = session.get(Case, dispute.case_id)
    with pytest.raises(InvalidTransition):
        do_transition(session, settings, world.staff, case, "agree", "一致")


def test_who_may_open_and_see_disputes(session, settings, world):
    with pytest.raises(Forbidden):  # claiming for a body one does not belong to
        do_open_dispute(session, settings, world.staff, world.health, world.transport, "x", "y")
    with pytest.raises(ValidationFailed) as exc:
        do_open_dispute(session, settings, world.staff, world.transport, world.transport, "", "")
    assert {"respondent", "resource", "claim"} <= set(exc.value.fields)
    dispute = _open(session, settings, world)
    session.commit()
    for party in (world.staff, world.health_staff, world.reviewer, world.auditor):
        assert access_dispute(session, party, dispute.id).id == dispute.id
    for outsider in (world.citizen, world.expert, world.sub_staff):  # a sub-unit does not act for its department
        with pytest.raises(NotFound):
            access_dispute(session, outsider, dispute.id)
    assert disputes_for(session, world.citizen) == []
