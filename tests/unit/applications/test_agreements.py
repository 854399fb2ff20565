"""Data-use agreements: the versioned model template, the exact text and its hash, acceptance by the
right people only, and when the grant takes effect with and without the authority's review."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kaifang.access.models import Grant
from kaifang.applications.actions import do_approve
from kaifang.applications.agreements import (
    check_template,
    do_accept_agreement,
    do_review_agreement,
    do_save_template,
    sha256_text,
)
from kaifang.applications.model_agreement import MODEL_BODY
from kaifang.applications.models import AgreementTemplate, Party, ReviewOutcome
from kaifang.applications.pdf import agreement_pdf
from kaifang.audit.models import AuditEvent
from kaifang.auth.models import Role
from kaifang.auth.queries import principal_for
from kaifang.cases.actions import do_transition
from kaifang.cases.models import Notification
from kaifang.context import client_ip_var
from kaifang.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from tests.factories import make_user
from tests.unit.applications.helpers import apply, approved, decision_input, publish_firms, world_with_entry


@pytest.fixture
def world(session, settings):
    return world_with_entry(session, settings)


@pytest.fixture
def chongqing(settings):
    return settings.with_overrides(jurisdiction="chongqing")


def _accept_both(session, settings, world_, app):
    do_accept_agreement(session, settings, world_.staff, app, app.agreement.sha256)
    do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    session.commit()


def test_the_agreement_states_the_approved_scope_and_keeps_its_hash(session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    agreement = app.agreement
    assert agreement.sha256 == sha256_text(agreement.text) and agreement.template_number == 1
    for part in ("市场监督管理局", "「所在区县」等于「渝中区」", "注册资本（万元）（capital）", "研究本市小微企业的行业分布", "数据存放于内网加密服务器",
                 "下载", "每季度", "不得以任何方式对数据进行重新识别", "争议解决", "记录留存与检查"):
        assert part in agreement.text, part
    assert "（industry）" not in agreement.text  # a column applied for but not approved
    assert "审查通过" not in agreement.text  # the national profile has no authority review
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    assert actions[-4:] == ["case.approve", "agreement_template.save", "agreement.create", "application.approve"]


def test_each_save_is_a_new_version_and_agreements_keep_theirs(session, settings, world):
    world_, entry = world
    first = approved(session, settings, world_, entry)
    saved = do_save_template(session, world_.reviewer, "数据利用协议（修订）",
                             MODEL_BODY.replace("第十一条　争议解决", "第十一条　争议的解决"), "措辞修订")
    session.commit()
    assert saved.number == 2
    second = approved(session, settings, world_, _other_entry(session, settings, world_))
    assert first.agreement.template_number == 1 and "第十一条　争议解决" in first.agreement.text
    assert second.agreement.template_number == 2 and "第十一条　争议的解决" in second.agreement.text
    assert second.agreement.title == "数据利用协议（修订）"
    numbers = session.scalars(select(AgreementTemplate.number).order_by(AgreementTemplate.number)).all()
    assert numbers == [1, 2]


def _other_entry(session, settings, world_):
    return publish_firms(session, settings, world_, "firms-b")


def test_an_edited_template_must_parse_state_every_item_and_stay_in_its_sandbox(session, settings, world):
    world_, _entry = world
    assert check_template(MODEL_BODY) == []
    assert "parse" in check_template("{% for x in items %}")[0]
    missing = check_template(MODEL_BODY.replace("{{ security_measures }}", ""))
    assert missing and "security_measures" in missing[0]
    assert any("Unknown placeholders: secret" in p for p in check_template(MODEL_BODY + "{{ secret }}"))
    escape = check_template(MODEL_BODY + "{{ purpose.__class__.__mro__ }}")
    assert escape and "cannot be filled in" in escape[0]
    with pytest.raises(ValidationFailed) as caught:
        do_save_template(session, world_.reviewer, "", "{{ purpose }}")
    assert set(caught.value.fields) == {"title", "body"}
    with pytest.raises(Forbidden):
        do_save_template(session, world_.staff, "协议", MODEL_BODY)
    with pytest.raises(ValidationFailed, match="Nothing has changed"):
        do_save_template(session, world_.reviewer, "公共数据有条件开放数据利用协议", MODEL_BODY)


def test_acceptance_records_who_when_where_and_the_hash_and_refuses_a_changed_text(session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    with pytest.raises(Conflict, match="not the one you were shown"):
        do_accept_agreement(session, settings, world_.citizen, app, "0" * 64)
    app.agreement.text += "乙方另行承诺……"  # the stored text no longer matches its hash
    with pytest.raises(Conflict):
        do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    session.rollback()
    token = client_ip_var.set("203.0.113.7")
    try:
        acceptance = do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    finally:
        client_ip_var.reset(token)
    session.commit()
    assert (acceptance.party, acceptance.user_id, acceptance.client_ip) == (Party.APPLICANT, world_.citizen.id,
                                                                              "203.0.113.7")
    assert acceptance.sha256 == app.agreement.sha256 and acceptance.accepted_at is not None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "agreement.accept")).one()
    assert event.data["party"] == "applicant" and event.client_ip == "203.0.113.7"
    kinds = session.scalars(select(Notification.kind).where(Notification.user_id == world_.staff.id)).all()
    assert "agreement_accept" in kinds


def test_only_the_two_parties_accept_and_each_once(session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    auditor = principal_for(session, make_user(session, settings, "auditor", roles=(Role.AUDITOR,)))
    for outsider in (world_.reviewer, auditor):
        with pytest.raises(Forbidden):
            do_accept_agreement(session, settings, outsider, app, app.agreement.sha256)
    do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    with pytest.raises(Conflict, match="accepted the agreement already"):
        do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    pending = apply(session, settings, world_.other, entry)
    with pytest.raises(InvalidTransition):
        do_accept_agreement(session, settings, world_.other, pending, "0" * 64)


def test_without_the_authoritys_review_the_grant_follows_both_acceptances(session, settings, world):
    world_, entry = world
    app = approved(session, settings, world_, entry)
    do_accept_agreement(session, settings, world_.staff, app, app.agreement.sha256)
    session.commit()
    assert app.case.state == "signing" and session.scalars(select(Grant)).first() is None
    do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    session.commit()
    grant = session.get(Grant, app.grant_id)
    assert app.case.state == "granted" and not app.case.is_open
    assert (grant.user_id, grant.columns, grant.modes, grant.feedback_every_months) == (
        world_.citizen.id, ["company", "district", "capital"], ["download"], 3)
    assert grant.row_filter == [{"column": "district", "op": "eq", "value": "渝中区"}]
    assert (grant.application_id, grant.agreement_id) == (app.id, app.agreement.id)
    assert (grant.valid_from, grant.valid_until) == (app.valid_from, app.valid_until)
    assert app.agreement.review_outcome == ReviewOutcome.NONE


def test_with_the_authoritys_review_the_grant_waits_for_its_approval(session, chongqing, world):
    world_, entry = world
    app = approved(session, chongqing, world_, entry)
    assert "并经大数据主管部门审查通过" in app.agreement.text and "重庆市公共数据开放管理暂行办法" in app.agreement.text
    _accept_both(session, chongqing, world_, app)
    assert app.case.state == "authority_review" and app.grant_id is None
    assert app.agreement.review_submitted_at is not None
    reviewer_notices = session.scalars(select(Notification.kind).where(Notification.user_id == world_.reviewer.id))
    assert "agreement_review" in list(reviewer_notices)
    with pytest.raises(InvalidTransition):
        do_review_agreement(session, chongqing, world_.staff, app, True)
    session.rollback()
    do_review_agreement(session, chongqing, world_.reviewer, app, True)
    session.commit()
    assert app.case.state == "granted" and session.get(Grant, app.grant_id).user_id == world_.citizen.id
    assert app.agreement.review_outcome == ReviewOutcome.APPROVED and app.agreement.reviewed_by_id == world_.reviewer.id
    pdf = agreement_pdf(app.agreement)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 3


def test_an_agreement_the_authority_refuses_opens_nothing(session, chongqing, world):
    world_, entry = world
    app = approved(session, chongqing, world_, entry, feedback_every_months="0")
    _accept_both(session, chongqing, world_, app)
    with pytest.raises(ValidationFailed):
        do_review_agreement(session, chongqing, world_.reviewer, app, False, "")
    session.rollback()
    do_review_agreement(session, chongqing, world_.reviewer, app, False, "行数据范围超出申请用途所需。")
    session.commit()
    assert app.case.state == "agreement_rejected" and app.grant_id is None
    assert session.scalars(select(Grant)).first() is None
    assert app.agreement.review_outcome == ReviewOutcome.REJECTED and "超出" in app.agreement.review_reason


def test_the_profile_decides_the_path_and_a_shortcut_is_refused(session, settings, chongqing, world):
    world_, entry = world
    app = apply(session, chongqing, world_.citizen, entry)
    do_approve(session, chongqing, world_.staff, app, decision_input())
    do_accept_agreement(session, chongqing, world_.staff, app, app.agreement.sha256)
    session.commit()
    with pytest.raises(InvalidTransition):
        do_transition(session, chongqing, world_.staff, app.case, "grant")
    session.rollback()
    assert app.case.profile_key == "chongqing"
    # The case keeps its profile: even on a server now set to the national profile it goes to review.
    do_accept_agreement(session, settings, world_.citizen, app, app.agreement.sha256)
    session.commit()
    assert app.case.state == "authority_review"
