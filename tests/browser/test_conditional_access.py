"""Conditional access as people do it, under the Chongqing profile (CQ 24: the authority reviews the
agreement): a verified user applies; the provider asks for more information; the user supplements;
the provider approves 3 of the 5 columns with a row filter; both accept the agreement; the
authority approves; the user downloads a file holding only those columns and rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from kaifang.access.models import Grant
from kaifang.applications.models import Application
from kaifang.audit.models import AuditEvent
from kaifang.audit.queries import verify_chain
from kaifang.auth.models import Role
from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_user
from tests.unit.applications.helpers import overdue_world, world_with_entry


@pytest.fixture
def settings(settings):
    return settings.with_overrides(jurisdiction="chongqing")


def _login(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{url}/")


def _logout(page) -> None:
    page.click("[data-testid=logout]")


def _english(page, shot_name: str) -> None:
    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    shot(page, shot_name)
    page.click("a[data-lang=zh_CN]")
    page.wait_for_load_state()


PURPOSE = "研究渝中区中小企业的注册资本分布，形成政策建议。"
SCENARIO = "区政府产业政策研究报告，只发布汇总统计结果。"
SECURITY = "数据存放于单位内网加密服务器，仅两名研究人员可以访问，研究结束后删除。"


def _apply(page, url: str, tmp_path: Path) -> str:
    page.goto(f"{url}/datasets/firms")
    assert page.locator("[data-testid=apply]").is_visible()
    shot(page, "access-01-dataset-apply-zh")
    page.click("[data-testid=apply]")
    page.fill("#scenario", SCENARIO)
    page.fill("#security_measures", SECURITY)
    page.click("[data-testid=submit-application]")
    assert page.locator("#purpose-error").inner_text() == "此项为必填项。"
    assert page.locator("#scenario").input_value() == SCENARIO
    shot(page, "access-02-apply-error-zh")
    page.fill("#purpose", PURPOSE)
    plan = tmp_path / "研究方案.txt"
    plan.write_text("研究方案：注册资本分布统计。", encoding="utf-8")
    page.set_input_files("#files", str(plan))
    shot(page, "access-03-apply-form-zh")
    page.click("[data-testid=submit-application]")
    page.wait_for_url(f"{url}/applications/*")
    assert "研究方案.txt" in page.locator("[data-testid=timeline]").inner_text()
    shot(page, "access-04-submitted-zh")
    _english(page, "access-04-submitted-en")
    return page.url.rsplit("/", 1)[1]


def _approve_three_columns(page) -> None:
    for column in ("industry", "founded"):
        page.uncheck(f"[data-testid=column-{column}]")
    page.select_option("select[name=cond-0-column]", "district")
    page.select_option("select[name=cond-0-op]", "eq")
    page.fill("input[name=cond-0-value]", "渝中区")
    page.select_option("select[name=cond-1-column]", "capital")
    page.select_option("select[name=cond-1-op]", "gte")
    page.fill("input[name=cond-1-value]", "很多")
    page.uncheck("input[name=modes][value=api]")
    page.select_option("#feedback_every_months", "3")
    page.click("[data-testid=approve]")
    assert "很多" in page.locator("#cond-1-error").inner_text()
    assert not page.locator("[data-testid=column-industry]").is_checked()
    shot(page, "access-08-decision-error-zh")
    page.fill("input[name=cond-1-value]", "100")
    page.click("[data-testid=add-condition]")
    assert page.locator("[data-testid=condition-row]").count() == 3
    assert page.locator("input[name=cond-1-value]").input_value() == "100"
    shot(page, "access-09-decision-form-zh")
    page.click("[data-testid=approve]")
    page.wait_for_selector("[data-testid=agreement-text]")


def test_apply_ask_supplement_approve_accept_review_download(live_server, page, session, settings, tmp_path):
    _world, _entry = world_with_entry(session, settings)
    make_user(session, settings, "auditor", roles=(Role.AUDITOR,))
    session.commit()
    url = live_server.url

    page.goto(f"{url}/datasets/firms")
    assert page.locator("[data-testid=login-hint]").is_visible()
    shot(page, "access-00-dataset-anonymous-zh")
    _login(page, url, "citizen")
    app_id = _apply(page, url, tmp_path)
    _logout(page)

    _login(page, url, "staff")
    page.goto(f"{url}/applications/received")
    assert page.locator("[data-testid=received-row]").count() == 1
    shot(page, "access-05-received-zh")
    page.click(f"a[href='/applications/{app_id}']")
    page.fill("#reason_ask_info", "请提供研究课题的立项文件，并说明为何需要企业名称。")
    shot(page, "access-06-provider-view-zh")
    page.click("[data-testid=ask-info]")
    assert page.locator("[data-testid=application-state]").inner_text() == "等待补充材料"
    _logout(page)

    _login(page, url, "citizen")
    page.goto(f"{url}/applications")
    shot(page, "access-07-my-applications-zh")
    page.click(f"a[href='/applications/{app_id}']")
    assert "立项文件" in page.locator("[data-testid=question]").inner_text()
    page.fill("#reason_supplement", "课题立项文件已作为附件提交；企业名称用于与区内走访记录核对。")
    shot(page, "access-07b-supplement-zh")
    page.click("[data-testid=supplement]")
    assert page.locator("[data-testid=application-state]").inner_text() == "等待评估"
    _logout(page)

    _login(page, url, "staff")
    page.goto(f"{url}/applications/{app_id}")
    _approve_three_columns(page)
    assert page.locator("[data-testid=approved-columns]").inner_text() == "企业名称、所在区县、注册资本（万元）"
    shot(page, "access-10-agreement-provider-zh")
    page.check("[data-testid=accept-read]")
    page.click("[data-testid=accept-agreement]")
    assert "Staff" in page.locator("[data-testid=acceptance-provider]").inner_text()
    assert "尚未确认" in page.locator("[data-testid=acceptance-applicant]").inner_text()
    _logout(page)

    _login(page, url, "citizen")
    page.goto(f"{url}/applications/{app_id}")
    shot(page, "access-11-agreement-user-zh")
    _english(page, "access-11-agreement-user-en")
    page.check("[data-testid=accept-read]")
    page.click("[data-testid=accept-agreement]")
    assert page.locator("[data-testid=application-state]").inner_text() == "协议待主管部门审查"
    page.goto(f"{url}/datasets/firms")
    assert page.locator("[data-testid=my-application]").is_visible()
    shot(page, "access-12-dataset-waiting-zh")
    _logout(page)

    _login(page, url, "reviewer")
    page.goto(f"{url}/applications/review")
    assert page.locator("[data-testid=review-row]").count() == 1
    shot(page, "access-13-review-queue-zh")
    page.click(f"a[href='/applications/{app_id}']")
    shot(page, "access-14-authority-review-zh")
    page.click("[data-testid=review-approve]")
    assert page.locator("[data-testid=application-state]").inner_text() == "已开放"
    page.goto(f"{url}/applications/{app_id}/agreement")
    shot(page, "access-15-agreement-page-zh")
    page.goto(f"{url}/admin/agreement-template")
    shot(page, "access-16-template-admin-zh")
    _english(page, "access-16-template-admin-en")
    _logout(page)

    _login(page, url, "citizen")
    page.goto(f"{url}/datasets/firms")
    assert page.locator("[data-testid=grant-status]").inner_text() == "您的数据访问已开通"
    shot(page, "access-18-dataset-granted-zh")
    _english(page, "access-18-dataset-granted-en")
    page.goto(f"{url}/applications/{app_id}")
    shot(page, "access-19-application-granted-zh")
    with page.expect_download() as download:
        page.click("[data-testid=download-csv]")
    text = Path(download.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["company", "district", "capital"]
    assert sorted(rows[1:]) == [["山城科技有限公司", "渝中区", "500"], ["解放碑商贸有限公司", "渝中区", "260"]]

    session.expire_all()
    app = session.get(Application, app_id)
    grant = session.scalars(select(Grant)).one()
    assert (grant.application_id, grant.agreement_id) == (app.id, app.agreement.id)
    assert [a.party for a in app.agreement.acceptances] == ["provider", "applicant"]
    assert all(a.sha256 == app.agreement.sha256 and a.client_ip for a in app.agreement.acceptances)
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    on_case = [e.action for e in events if e.target_id == app_id]
    assert on_case == ["case.open", "application.submit", "case.attach", "case.ask_info", "application.ask_info",
                       "case.supplement", "application.supplement", "case.approve", "application.approve",
                       "case.submit_review", "case.approve_agreement"]
    on_agreement = [e.action for e in events if e.target_id == app.agreement.id]
    assert on_agreement == ["agreement.create", "agreement.accept", "agreement.accept", "agreement.review_approved"]
    assert [e.action for e in events if e.target_id == grant.id][:1] == ["grant.create"]
    assert verify_chain(session).ok


def test_an_overdue_application_in_the_inbox_and_the_compliance_list(live_server, page, session, settings):
    _world, _entry, late, grant = overdue_world(session, settings)
    url = live_server.url
    _login(page, url, "staff")
    page.goto(f"{url}/tasks")
    first = page.locator("[data-testid=case-row]").first
    assert first.locator("[data-testid=overdue]").is_visible() and late.entry.title in first.inner_text()
    shot(page, "access-20-provider-tasks-overdue-zh")
    page.goto(f"{url}/applications/received")
    assert page.locator("[data-testid=received-row] [data-testid=overdue]").count() == 1
    shot(page, "access-21-received-overdue-zh")
    first_link = page.locator("[data-testid=received-row] a").first
    first_link.click()
    assert page.locator("[data-testid=overdue]").first.is_visible()
    shot(page, "access-22-application-overdue-zh")
    _logout(page)

    _login(page, url, "reviewer")
    page.goto(f"{url}/supervision/compliance")
    section = page.locator("[data-testid=provider-compliance]")
    assert section.locator("[data-testid=overdue-count]").inner_text() == "1"
    assert section.locator("[data-testid=feedback-count]").inner_text() == "1"
    assert section.locator(f"a[href='/applications/{late.id}']").count() == 1
    assert section.locator(f"a[href='/applications/{grant.application_id}']").count() == 1
    shot(page, "access-17-compliance-zh")
    _english(page, "access-17-compliance-en")
