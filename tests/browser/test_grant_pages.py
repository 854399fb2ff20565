"""Grant pages in a real browser, in Chinese and English: a grantee's grants and usage report, the
provider's list with the use of each grant, suspending with a reason, withdrawing the dataset
and the list of everyone who received its data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy import select

from kaifang.access.engine import QueryEngine
from kaifang.access.feedback import open_due_reports
from kaifang.cases.clocks import CHINA_TZ, china_today
from kaifang.catalog.models import CatalogEntry
from kaifang.datasets.storage import storage_for
from tests.browser.conftest import SCREENSHOTS, shot
from tests.factories import PASSWORD
from tests.unit.access.grant_helpers import download, grant_for, publish_residents
from tests.unit.access.helpers import make_data_world

NAME = "residents"


@pytest.fixture
def query_engine(settings) -> Iterator[QueryEngine]:
    engine = QueryEngine(settings, storage_for(settings))
    yield engine
    engine.close()


def _login(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def _english(page) -> None:
    page.click("a[data-lang=en]")
    page.wait_for_load_state()


def _chinese(page) -> None:
    page.click("a[data-lang=zh_CN]")
    page.wait_for_load_state()


def test_grant_pages(live_server, page, browser, session, settings, query_engine, tmp_path):
    world = make_data_world(session, settings)
    publish_residents(session, settings, world, NAME, n=60)
    started = china_today() - dt.timedelta(days=40)
    with time_machine.travel(dt.datetime(started.year, started.month, started.day, 10, tzinfo=CHINA_TZ)):
        entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == NAME)).one()
        grant_for(session, world, entry, world.citizen, columns=["姓名", "手机号", "所在区", "年龄"],
                  row_filter=[{"column": "所在区", "op": "in", "value": ["海州区", "连云区"]},
                              {"column": "年龄", "op": "gte", "value": 25}],
                  valid_from=started, valid_until=started + dt.timedelta(days=365), feedback_every_months=1)
    download(session, settings, query_engine, world.citizen, NAME)
    assert open_due_reports(session, settings) == 1
    session.commit()
    url = live_server.url

    # The grantee: my grants, then the usage report.
    _login(page, url, "citizen")
    page.goto(f"{url}/account/grants")
    card = page.locator("[data-testid=my-grant]")
    assert "海州区、连云区" in card.inner_text() and "身份证号" not in card.locator("[data-testid=grant-columns]").inner_text()
    shot(page, "grants-01-my-grants-zh")
    _english(page)
    assert "Submit the usage report" in page.inner_text("main")
    shot(page, "grants-02-my-grants-en")
    page.click("[data-testid=submit-report-link]")
    page.wait_for_selector("[data-testid=report-form]")
    shot(page, "grants-03-report-form-en")
    page.click("[data-testid=submit-report]")  # empty: refused, nothing lost
    page.wait_for_selector("#report-error")
    attachment = tmp_path / "成果摘要.txt"
    attachment.write_text("选址分析成果摘要", encoding="utf-8")
    page.fill("#report", "用于商业网点选址分析，由本单位三名分析人员使用，成果已提交规划部门参考。")
    page.set_input_files("#files", str(attachment))
    page.click("[data-testid=submit-report]")
    page.wait_for_selector("[data-testid=report-state]")
    assert "provider" in page.inner_text("[data-testid=report-state]")
    _chinese(page)
    shot(page, "grants-04-report-submitted-zh")

    # The provider: the dataset panel, the list with the use of each grant, the report, a suspension.
    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
    staff.set_default_timeout(10_000)
    _login(staff, url, "staff")
    staff.goto(f"{url}/datasets/{NAME}")
    assert "1" in staff.inner_text("[data-testid=grants-in-force]")
    shot(staff, "grants-05-dataset-zh")
    staff.locator("[data-testid=grants-panel]").screenshot(path=str(SCREENSHOTS / "grants-05-panel-zh.png"))
    staff.click("[data-testid=grants-link]")
    staff.wait_for_selector("[data-testid=grants-table]")
    assert "1 次下载" in staff.inner_text("[data-testid=grant-usage]")
    shot(staff, "grants-06-provider-list-zh")
    _english(staff)
    shot(staff, "grants-07-provider-list-en")
    staff.click("[data-testid=report-link]")
    staff.wait_for_selector("[data-testid=review-form]")
    assert "成果摘要.txt" in staff.inner_text("[data-testid=report-thread]")
    shot(staff, "grants-08-report-review-en")
    staff.fill("#reason", "Thank you; accepted.")
    staff.click("[data-testid=accept-report]")
    staff.wait_for_selector("[data-testid=report-state]")
    staff.goto(f"{url}/datasets/{NAME}/grants")
    staff.click("[data-testid=step-suspend] summary")
    staff.click("[data-testid=do-suspend]")  # no reason: the step page asks for one
    staff.wait_for_selector("#reason-error")
    shot(staff, "grants-09-suspend-needs-reason-en")
    staff.fill("#reason", "Shared the data with a third party, against clause 5 of the agreement.")
    staff.click("[data-testid=do-suspend]")
    staff.wait_for_selector(".flash.success")
    assert "Suspended" in staff.inner_text("[data-testid=grant-standing]")
    shot(staff, "grants-10-suspended-en")
    staff.click("[data-testid=step-resume] summary")
    staff.click("[data-testid=do-resume]")
    staff.wait_for_selector(".flash.success")

    # Withdrawal: every grant suspended, the recipients listed.
    _chinese(staff)
    staff.goto(f"{url}/datasets/{NAME}")
    staff.click("summary:has-text('从开放清单撤回')")
    staff.fill("#withdraw-reason", "发现手机号字段存在被还原的风险，撤回并重新脱敏。")
    staff.click("[data-testid=withdraw-entry]")
    staff.wait_for_selector("[data-testid=flash-link]")
    shot(staff, "grants-11-withdrawn-flash-zh")
    staff.click("[data-testid=flash-link]")
    staff.wait_for_selector("[data-testid=recipients-table]")
    assert "Citizen" in staff.inner_text("[data-testid=recipients-table]")
    staff.click("[data-testid=recipients-table] details summary")
    shot(staff, "grants-12-recipients-zh")
    _english(staff)
    staff.click("[data-testid=recipients-table] details summary")
    shot(staff, "grants-13-recipients-en")

    page.goto(f"{url}/account/grants")
    assert "撤回" in page.inner_text("[data-testid=grant-reason]")
    shot(page, "grants-14-my-grants-after-withdrawal-zh")
