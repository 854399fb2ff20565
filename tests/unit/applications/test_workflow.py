"""The application workflow's rules: who may apply and take which step, the clock paused and
resumed, reasons required, the approved scope validated, refusals that write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kaifang.applications.actions import do_apply, do_approve, do_step
from kaifang.applications.forms import ConditionInput
from kaifang.applications.models import Application
from kaifang.applications.queries import access_application, my_applications, provider_applications
from kaifang.audit.models import AuditEvent
from kaifang.auth.permissions import Principal
from kaifang.calendar.workdays import load_calendar
from kaifang.cases.actions import do_transition
from kaifang.cases.models import Notification
from kaifang.errors import Conflict, Forbidden, InvalidTransition, NotAuthenticated, NotFound, ValidationFailed
from tests.unit.applications.helpers import (
    HEADER,
    application_input,
    apply,
    approved,
    decision_input,
    unverified,
    world_with_entry,
)
from tests.unit.cases.helpers import at

D = dt.date


@pytest.fixture
def world(session, settings):
    return world_with_entry(session, settings)


def _events(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def test_only_verified_users_apply_and_a_refusal_writes_nothing(session, settings, world):
    world_, entry = world
    before = _events(session)
    with pytest.raises(NotAuthenticated):
        do_apply(session, settings, Principal.anonymous(), entry, application_input())
    with pytest.raises(Forbidden, match="Verify your identity"):
        do_apply(session, settings, unverified(session, settings), entry, application_input())
    with pytest.raises(Forbidden, match="provides this dataset"):
        do_apply(session, settings, world_.staff, entry, application_input())
    session.rollback()
    assert _events(session) == before + 1  # the newcomer's account only
    apply(session, settings, world_.citizen, entry)
    with pytest.raises(Conflict, match="in progress already"):
        do_apply(session, settings, world_.citizen, entry, application_input())


def test_the_form_is_checked_field_by_field(session, settings, world):
    world_, entry = world
    with pytest.raises(ValidationFailed) as caught:
        do_apply(session, settings, world_.citizen, entry, application_input(
            columns=["company", "salary"], modes=["algorithm"], purpose=" ", use_from="2026-13-01",
            use_until="2020-01-01"))
    assert set(caught.value.fields) == {"columns", "modes", "purpose", "use_from"}
    with pytest.raises(ValidationFailed) as caught:
        do_apply(session, settings, world_.citizen, entry, application_input(use_from="2027-01-02", use_until="2027-01-01"))
    assert list(caught.value.fields) == ["use_until"]


def test_an_application_goes_to_the_provider_with_the_evaluation_clock(session, settings, world):
    world_, entry = world
    with at(D(2025, 9, 29)):
        app = apply(session, settings, world_.citizen, entry, use_from="2025-10-01", use_until="2026-09-30")
    case = app.case
    assert case.assignee_org_id == world_.provider.id and case.state == "submitted"
    assert case.clock.name == "application_evaluation" and case.clock.amount == 10
    assert case.due_date == load_calendar(session).add_workdays(D(2025, 9, 29), 10).date == D(2025, 10, 20)
    staff_notices = session.scalars(select(Notification.kind).where(Notification.user_id == world_.staff.id)).all()
    assert "case_opened" in staff_notices
    assert [a.id for a in provider_applications(session, world_.staff)] == [app.id]
    assert [a.id for a in my_applications(session, world_.citizen)] == [app.id]
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == app.id)).all()
    assert actions == ["case.open", "application.submit"]


def test_asking_for_information_stops_the_clock_until_the_applicant_answers(session, settings, world):
    world_, entry = world
    with at(D(2025, 9, 29)):
        app = apply(session, settings, world_.citizen, entry, use_from="2025-10-01", use_until="2026-09-30")
    with at(D(2025, 10, 9)):  # working day 2 after the holiday
        do_step(session, settings, world_.staff, app, "ask_info", "请说明研究课题的立项情况。")
    assert app.case.clock_paused and app.case.due_date == D(2025, 10, 20)
    with at(D(2025, 10, 14)):  # 10, 11 (the make-up Saturday), 13, 14: four working days stood still
        do_step(session, settings, world_.citizen, app, "supplement", "课题已于九月立项，批准书附后。")
    session.commit()
    assert not app.case.clock_paused and app.case.state == "submitted"
    calendar = load_calendar(session)
    assert calendar.workdays_between(D(2025, 10, 9), D(2025, 10, 14)) == 4
    assert app.case.due_date == calendar.add_workdays(D(2025, 10, 20), 4).date == D(2025, 10, 24)


def test_each_side_takes_only_its_own_steps(session, settings, world):
    world_, entry = world
    app = apply(session, settings, world_.citizen, entry)
    for actor, step in ((world_.citizen, "ask_info"), (world_.citizen, "reject"), (world_.staff, "supplement"),
                        (world_.staff, "withdraw"), (world_.reviewer, "reject")):
        with pytest.raises(InvalidTransition):
            do_step(session, settings, actor, app, step, "理由")
    with pytest.raises(InvalidTransition):
        do_approve(session, settings, world_.citizen, app, decision_input())
    with pytest.raises(InvalidTransition):
        do_approve(session, settings, world_.reviewer, app, decision_input())
    with pytest.raises(NotFound):
        access_application(session, world_.other, app.id)
    assert access_application(session, world_.reviewer, app.id) is app  # the authority supervises
    assert app.case.state == "submitted" and app.decided_at is None


def test_a_rejection_needs_reasons(session, settings, world):
    world_, entry = world
    app = apply(session, settings, world_.citizen, entry)
    with pytest.raises(ValidationFailed) as caught:
        do_step(session, settings, world_.staff, app, "reject", "  ")
    assert list(caught.value.fields) == ["reason"]
    session.rollback()
    do_step(session, settings, world_.staff, app, "reject", "《数据安全法》第二十一条：申请用途与数据分级不符。")
    session.commit()
    assert app.case.state == "rejected" and not app.case.is_open and app.grant_id is None


def test_the_approved_scope_is_checked_before_anything_changes(session, settings, world):
    world_, entry = world
    app = apply(session, settings, world_.citizen, entry, columns=["company", "district", "capital"])
    with pytest.raises(ValidationFailed) as caught:
        do_approve(session, settings, world_.staff, app, decision_input(
            columns=["company", "industry"], modes=["algorithm"], feedback_every_months="2",
            valid_until=(dt.date.fromisoformat(app.use_until.isoformat()) + dt.timedelta(days=1)).isoformat(),
            conditions=(ConditionInput("capital", "gte", "很多"), ConditionInput("salary", "eq", "1"))))
    fields = caught.value.fields
    assert set(fields) == {"columns", "modes", "feedback_every_months", "valid_until", "row_filter.0",
                           "row_filter.1"}
    assert fields["columns"] == ["Approve only data items that were applied for."]
    session.rollback()
    assert app.case.state == "submitted" and app.decided_at is None and app.agreement is None
    do_approve(session, settings, world_.staff, app, decision_input(
        conditions=(ConditionInput("district", "in", "渝中区，江北区"), ConditionInput("", "eq", ""))))
    session.commit()
    assert app.row_filter == [{"column": "district", "op": "in", "value": ["渝中区", "江北区"]}]
    assert app.case.state == "signing" and app.case.clock is None  # the provider met its deadline


def test_the_applicant_withdraws_while_the_application_is_open(session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    do_step(session, settings, world_.citizen, app, "withdraw")
    session.commit()
    assert app.case.state == "withdrawn" and app.grant_id is None
    with pytest.raises(InvalidTransition):
        do_step(session, settings, world_.citizen, app, "withdraw")
    apply(session, settings, world_.citizen, entry)  # a closed application no longer blocks a new one


def test_steps_that_need_the_pages_input_are_refused_elsewhere(session, settings, world):
    world_, entry = world
    app = apply(session, settings, world_.citizen, entry)
    with pytest.raises(InvalidTransition, match="application page"):
        do_transition(session, settings, world_.staff, app.case, "approve")
    session.rollback()
    app = session.get(Application, app.id)
    do_approve(session, settings, world_.staff, app, decision_input())
    session.commit()
    with pytest.raises(InvalidTransition, match="accept"):
        do_transition(session, settings, world_.staff, app.case, "grant")
    session.rollback()
    assert session.get(Application, app.id).grant_id is None
    assert set(HEADER) >= set(app.approved_columns)
