"""The engine's actions on the contact workflow and a provider workflow: steps, thread, audit,
notifications, extensions, pauses, visibility and the inbox."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.cases.actions import (
    do_approve_extension,
    do_attach_file,
    do_mark_read,
    do_open_case,
    do_pause_clock,
    do_post_message,
    do_request_extension,
    do_resume_clock,
    do_transition,
)
from kaifang.cases.attachments import attachment_root
from kaifang.cases.models import Notification
from kaifang.cases.queries import access_case, case_view, entries, inbox, unread_count
from kaifang.cases.workflow import CaseRole, Workflow, WorkflowError, get, register, transition
from kaifang.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from kaifang.notify.models import OutboundMail
from kaifang.policy.profiles import ClockName
from tests.unit.cases.helpers import PROVIDER_CASE, People, as_actor, at, audit_count

D = dt.date


def _contact(session, settings, people: People, title: str = "数据更新问题"):
    return do_open_case(session, settings, as_actor(session, people.opener), "contact", title, "请问何时更新？")


def _provider(session, settings, people: People):
    return do_open_case(session, settings, as_actor(session, people.opener), PROVIDER_CASE.key, "疑义",
                        "数据有误", assignee_org=people.org)


def test_contact_case_runs_request_info_supplement_answer(session, settings, people):
    reviewer, opener = as_actor(session, people.reviewer), as_actor(session, people.opener)
    with at(D(2025, 9, 29)):
        case = _contact(session, settings, people)
    assert (case.state, case.due_date, case.calendar_missing) == ("submitted", D(2025, 10, 20), False)
    with at(D(2025, 10, 9)):
        do_transition(session, settings, reviewer, case, "request_info", "请提供数据集名称")
    assert case.clock_paused and case.due_date == D(2025, 10, 20)
    with at(D(2025, 10, 14)):  # Oct 10, 11 (make-up Saturday), 13, 14 stood still
        do_transition(session, settings, opener, case, "supplement", "公交线路数据")
    assert not case.clock_paused and case.due_date == D(2025, 10, 24)
    with at(D(2025, 10, 15)):
        do_transition(session, settings, reviewer, case, "answer", "下周更新")
        do_transition(session, settings, opener, case, "close")
    session.commit()
    assert case.state == "closed" and case.closed_at is not None and case.clock is None
    kinds = [(e.kind, e.transition) for e in entries(session, case)]
    assert kinds == [("message", ""), ("transition", "request_info"), ("transition", "supplement"),
                     ("transition", "answer"), ("transition", "close")]
    actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == case.id)
                                   .order_by(AuditEvent.seq)))
    assert actions == ["case.open", "case.request_info", "case.supplement", "case.answer", "case.close"]


def test_steps_outside_the_state_or_the_role_are_refused_without_trace(session, settings, people):
    case = _contact(session, settings, people)
    before = audit_count(session)
    with pytest.raises(InvalidTransition):
        do_transition(session, settings, as_actor(session, people.opener), case, "answer", "自问自答")
    with pytest.raises(InvalidTransition):
        do_transition(session, settings, as_actor(session, people.reviewer), case, "supplement", "x")
    with pytest.raises(InvalidTransition):
        do_transition(session, settings, as_actor(session, people.reviewer), case, "no_such_step")
    with pytest.raises(ValidationFailed) as missing_reason:
        do_transition(session, settings, as_actor(session, people.reviewer), case, "answer", "  ")
    assert "reason" in missing_reason.value.fields
    assert audit_count(session) == before and case.state == "submitted"


def test_refusal_messages_are_localised(session, settings, people):
    from kaifang.i18n import reset_locale, set_locale
    case = _contact(session, settings, people)
    token = set_locale("zh_CN")
    try:
        with pytest.raises(InvalidTransition) as exc:
            do_transition(session, settings, as_actor(session, people.reviewer), case, "close")
    finally:
        reset_locale(token)
    assert "等待答复" in exc.value.message


def test_visibility_follows_case_roles(session, settings, people):
    case = _provider(session, settings, people)
    session.commit()
    for user in (people.opener, people.staff, people.head, people.reviewer, people.auditor, people.admin):
        assert access_case(session, as_actor(session, user), case.id) is case
    with pytest.raises(NotFound):
        access_case(session, as_actor(session, people.outsider), case.id)
    with pytest.raises(NotFound):
        access_case(session, as_actor(session, people.opener), "missing")


def test_auditor_reads_but_cannot_write(session, settings, people):
    case = _provider(session, settings, people)
    auditor = as_actor(session, people.auditor)
    view = case_view(auditor, case)
    assert CaseRole.AUDITOR in view.roles and not view.may_post and view.transitions == []
    with pytest.raises(Forbidden):
        do_post_message(session, settings, auditor, case, "看看")


def test_open_notifies_assignees_in_app_and_by_mail(session, settings, people):
    case = _provider(session, settings, people)
    session.commit()
    notified = {n.user_id for n in session.scalars(select(Notification).where(Notification.case_id == case.id))}
    assert notified == {people.staff.id, people.head.id}
    assert session.scalars(select(OutboundMail).where(OutboundMail.recipient == people.staff.email)).first()
    staff = as_actor(session, people.staff)
    assert unread_count(session, staff) == 1
    do_mark_read(session, staff)
    assert unread_count(session, staff) == 0


def test_answer_notifies_the_opener(session, settings, people):
    case = _contact(session, settings, people)
    do_transition(session, settings, as_actor(session, people.reviewer), case, "answer", "下周更新")
    session.commit()
    texts = list(session.scalars(select(Notification.text).where(Notification.user_id == people.opener.id)))
    # The notice points to the case; the answer itself stays behind the login.
    assert len(texts) == 1 and case.title in texts[0] and "下周更新" not in texts[0]


def test_messages_and_attachments_join_the_thread(session, settings, people):
    case = _contact(session, settings, people)
    opener = as_actor(session, people.opener)
    do_post_message(session, settings, opener, case, "补充说明")
    row = do_attach_file(session, settings, opener, case, "../../etc/截图.png", "image/png",
                         io.BytesIO(b"\x89PNG" + b"x" * 1000), "截图")
    session.commit()
    assert row.file_name == "截图.png" and row.size == 1004 and len(row.sha256) == 64
    assert (attachment_root(settings) / row.stored_path).read_bytes().startswith(b"\x89PNG")
    assert [e.kind for e in entries(session, case)] == ["message", "message", "attachment"]
    with pytest.raises(ValidationFailed):
        do_attach_file(session, settings, opener, case, "big.bin", "", io.BytesIO(b"x" * 2048), max_bytes=1024)
    with pytest.raises(ValidationFailed):
        do_attach_file(session, settings, opener, case, "empty.txt", "", io.BytesIO(b""))
    assert not list((attachment_root(settings) / "tmp").iterdir())


def test_extension_once_by_the_provider_head_within_the_profile_limit(session, settings, people):
    staff, head = as_actor(session, people.staff), as_actor(session, people.head)
    with at(D(2025, 9, 29)):
        case = _provider(session, settings, people)
        assert case.due_date == D(2025, 10, 20)
        with pytest.raises(ValidationFailed):
            do_request_extension(session, settings, staff, case, 11, "需要核实")
        with pytest.raises(Forbidden):
            do_request_extension(session, settings, as_actor(session, people.opener), case, 5, "x")
        do_request_extension(session, settings, staff, case, 10, "需要现场核实")
        with pytest.raises(Forbidden):
            do_request_extension(session, settings, staff, case, 5, "再来一次")
        with pytest.raises(Forbidden):
            do_approve_extension(session, settings, staff, case)
        with pytest.raises(Forbidden):
            do_approve_extension(session, settings, as_actor(session, people.reviewer), case)
        do_approve_extension(session, settings, head, case)
        with pytest.raises(Forbidden):
            do_approve_extension(session, settings, head, case)
    assert case.clock.extended and case.due_date == D(2025, 11, 3)
    assert case.clock.approved_by_id == people.head.id


def test_contact_clock_is_not_extendable(session, settings, people):
    case = _contact(session, settings, people)
    with pytest.raises(Forbidden):
        do_request_extension(session, settings, as_actor(session, people.reviewer), case, 1, "x")


def test_pause_and_resume_move_the_due_date_by_paused_workdays(session, settings, people):
    staff = as_actor(session, people.staff)
    with at(D(2025, 9, 29)):
        case = _provider(session, settings, people)
        do_pause_clock(session, settings, staff, case, "征求第三方意见")
        with pytest.raises(Forbidden):
            do_pause_clock(session, settings, staff, case)
    with at(D(2025, 10, 10)):  # Sep 30 and Oct 9, 10 are working days; the holiday is not
        do_resume_clock(session, settings, staff, case)
    assert case.due_date == D(2025, 10, 23)
    with pytest.raises(Forbidden):
        do_resume_clock(session, settings, staff, case)
    with pytest.raises(Forbidden):
        do_pause_clock(session, settings, as_actor(session, people.opener), case)


def test_inbox_shows_whose_turn_it_is_overdue_first(session, settings, people):
    with at(D(2025, 9, 1)):
        early = _provider(session, settings, people)
    with at(D(2025, 9, 15)):
        late = _provider(session, settings, people)
        contact = _contact(session, settings, people)
    late.overdue = True
    session.commit()
    staff, opener, reviewer = (as_actor(session, u) for u in (people.staff, people.opener, people.reviewer))
    assert [c.id for c in inbox(session, staff)] == [late.id, early.id]
    assert inbox(session, opener) == []
    assert [c.id for c in inbox(session, reviewer)] == [contact.id]
    do_transition(session, settings, reviewer, contact, "request_info", "请补充")
    assert [c.id for c in inbox(session, opener)] == [contact.id]
    assert inbox(session, reviewer) == []
    assert inbox(session, as_actor(session, people.outsider)) == []


def test_members_of_a_parent_body_act_for_its_sub_units(session, settings, people):
    from tests.factories import make_org
    sub = make_org(session, parent=people.org)
    case = do_open_case(session, settings, as_actor(session, people.opener), PROVIDER_CASE.key, "t", "b",
                        assignee_org=sub)
    head = as_actor(session, people.head)
    assert {CaseRole.ASSIGNEE, CaseRole.PROVIDER_HEAD} <= case_view(head, case).roles
    assert [c.id for c in inbox(session, head)] == [case.id]


def test_workflow_declarations_are_checked():
    with pytest.raises(WorkflowError):
        Workflow(key="bad", title="b", states={"a": "A"}, initial="a", final_states=frozenset({"z"}),
                 transitions=(), clock=ClockName.CONTACT_REPLY)
    with pytest.raises(WorkflowError):
        Workflow(key="bad", title="b", states={"a": "A", "z": "Z"}, initial="a", final_states=frozenset({"z"}),
                 transitions=(transition("leave", "z", "a", {CaseRole.OPENER}),), clock=ClockName.CONTACT_REPLY)
    with pytest.raises(WorkflowError):
        register(Workflow(key="contact", title="other", states={"a": "A"}, initial="a",
                          final_states=frozenset(), transitions=(), clock=ClockName.CONTACT_REPLY))
    with pytest.raises(WorkflowError):
        get("no-such-workflow")
    assert register(PROVIDER_CASE) is PROVIDER_CASE
