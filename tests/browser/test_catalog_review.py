"""Open-list review as people do it: provider staff catalogue an entry with data items and submit it;
the authority returns it with a reason; the staff fix it and submit again; the authority approves
and publishes; the public finds it. Every step leaves an audit event."""

from __future__ import annotations

from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import MembershipRole, Role
from kaifang.catalog.changes import do_request_change
from kaifang.catalog.disputes import do_open_dispute
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_review_step, do_submit_entry
from tests.browser.conftest import shot
from tests.factories import PASSWORD, make_org, make_user
from tests.unit.catalog.review_helpers import draft, make_world, published
from tests.unit.catalog.test_entries import entry_input


def _login(page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{url}/")


def _logout(page) -> None:
    page.click("[data-testid=logout]")


def _fill_entry(page) -> None:
    page.fill("#name", "bus-stops")
    page.select_option("#domain_code", "transport")
    page.fill("#title", "公交站点位置信息")
    page.fill("#summary", "全市公交站点的名称、途经线路和经纬度。")
    page.fill("#keywords", "公交，站点，出行")
    page.check("input[name=annual_focus]")
    page.check("input[name=open_type][value=conditional]")
    page.fill("#open_conditions", "实名认证后申请")
    page.select_option("#update_frequency", "monthly")
    page.check("input[name=formats][value=JSON]")
    rows = [("stop_id", "站点编号", "string"), ("stop_name", "站点名称", "string"), ("lng", "经度", "decimal")]
    for i, (name, title, kind) in enumerate(rows):
        page.fill(f"input[name=items-{i}-name]", name)
        page.fill(f"input[name=items-{i}-title]", title)
        page.select_option(f"select[name=items-{i}-type]", kind)
    page.click("[data-testid=add-item]")  # htmx swaps in the rows with one more
    page.wait_for_selector("input[name=items-3-name]")
    page.fill("input[name=items-3-name]", "lat")
    page.fill("input[name=items-3-title]", "纬度")
    page.select_option("select[name=items-3-type]", "decimal")


def test_catalogue_review_return_resubmit_publish_and_find(live_server, page, session, settings):
    org = make_org(session, "transport", name="示范市交通运输局")
    make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF)
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    session.commit()
    url = live_server.url

    _login(page, url, "staff")
    page.goto(f"{url}/organisations/transport")
    page.click("[data-testid=new-dataset]")
    _fill_entry(page)
    shot(page, "catalog-01-form-filled")
    page.click("[data-testid=save-entry]")
    error = page.locator("#legal_basis-error")  # conditional data must cite its legal basis (CQ 12)
    assert error.inner_text() == "有条件开放和不予开放的目录必须注明法律依据。"
    assert page.locator("#legal_basis").get_attribute("aria-invalid") == "true"
    assert page.locator("input[name=items-3-name]").input_value() == "lat"
    shot(page, "catalog-02-legal-basis-error")
    page.fill("#legal_basis", "《中华人民共和国数据安全法》第二十一条")
    page.click("[data-testid=save-entry]")
    page.wait_for_url(f"{url}/datasets/bus-stops")
    assert page.locator("[data-testid=data-items] tbody tr").count() == 4
    page.fill("#note", "请审核本单位公交站点目录。")
    page.click("[data-testid=submit-entry]")
    assert "已提交审核" in page.locator("[data-testid=entry-status]").inner_text()
    shot(page, "catalog-03-submitted")
    _logout(page)

    _login(page, url, "reviewer")
    page.goto(f"{url}/open-list/review")
    assert page.locator("[data-testid=queue-row]").count() == 1
    shot(page, "catalog-04-review-queue")
    page.click("[data-testid=queue-row] a[href='/datasets/bus-stops']")
    page.fill("#reason", "坐标请注明坐标系（GCJ-02 或 WGS-84）。")
    shot(page, "catalog-05-review-panel")
    page.click("[data-testid=review-return]")
    assert "已退回" in page.locator("[data-testid=entry-status]").inner_text()
    _logout(page)

    _login(page, url, "staff")
    page.goto(f"{url}/datasets/bus-stops")
    assert "坐标请注明坐标系" in page.locator("[data-testid=return-reason]").inner_text()
    shot(page, "catalog-06-returned-seen-by-staff")
    page.click("[data-testid=edit-entry]")
    page.fill("#summary", "全市公交站点的名称、途经线路和经纬度（GCJ-02 坐标系）。")
    page.click("[data-testid=save-entry]")
    page.wait_for_url(f"{url}/datasets/bus-stops")
    page.click("[data-testid=submit-entry]")
    _logout(page)

    _login(page, url, "reviewer")
    page.goto(f"{url}/open-list/review")
    page.click("[data-testid=queue-approve]")
    page.click("[data-testid=queue-publish]")
    assert page.locator("[data-testid=queue-row]").count() == 0
    page.goto(f"{url}/datasets/bus-stops")
    shot(page, "catalog-07-published-reviewer-view")
    _logout(page)

    page.goto(f"{url}/catalog?q=公交站点")
    assert page.locator("a[href='/datasets/bus-stops']").count() >= 1
    shot(page, "catalog-08-public-search")
    page.click("a[href='/datasets/bus-stops']")
    assert "GCJ-02" in page.content() and page.locator("[data-testid=entry-status]").count() == 0
    assert "数据安全法" in page.locator("[data-testid=legal-basis]").inner_text()
    shot(page, "catalog-09-public-dataset-zh")
    page.goto(f"{url}/organisations/transport")
    assert page.locator("[data-testid=provider-datasets] a[href='/datasets/bus-stops']").count() == 1
    shot(page, "catalog-10-provider-page")
    page.goto(f"{url}/datasets/bus-stops")
    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    assert "Legal basis" in page.content()
    shot(page, "catalog-11-public-dataset-en")

    entry = session.scalars(select(CatalogEntry)).one()
    session.expire_all()
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    on_entry = [e.action for e in events if e.target_id == entry.id]
    assert on_entry == ["catalog.create", "catalog.submit", "catalog.status", "catalog.update", "catalog.submit",
                        "catalog.status", "catalog.status"]
    on_cases = [e.action for e in events if e.target_type == "case"]
    assert on_cases == ["case.open", "case.return", "case.open", "case.approve", "case.publish"]
    actors = {e.action: e.actor_label for e in events}
    assert actors["case.return"] == actors["case.publish"] == "reviewer" and actors["catalog.submit"] == "staff"


def test_change_request_dispute_and_lists_look_right(live_server, browser, page, session, settings):
    world = make_world(session, settings)
    entry = published(session, settings, world, "bus-stops", annual_focus=True)
    do_request_change(session, settings, world.staff, entry, ("law", "2025-09-26", "《示范市公共交通条例》修订"),
                      entry_input(title="公交站点位置信息（含坐标系）", keywords=["公交", "坐标"]))
    draft(session, world, "driver-points", open_type="non_open", legal_basis="《个人信息保护法》第十三条",
                   share_type="not_shared", title="驾驶人违法记分记录")
    pending = draft(session, world, "taxi-trips", open_type="conditional", open_conditions="实名申请",
                    legal_basis="《数据安全法》第二十一条", title="出租车运营轨迹")
    do_submit_entry(session, settings, world.staff, pending)
    do_review_step(session, settings, world.reviewer, pending, "request_opinion", "车牌假名化后能否无条件开放？")
    dispute = do_open_dispute(session, settings, world.health_staff, world.health, world.transport,
                              "医院周边公交站点", "站点由我委采集。", entry)
    session.commit()
    url = live_server.url

    _login(page, url, "reviewer")
    for path, name in (("/open-list/changes", "catalog-12-changes"), ("/open-list/responsibilities/transport",
                       "catalog-14-responsibility"), ("/open-list/not-open", "catalog-15-not-open"),
                       (f"/open-list/disputes/{dispute.id}", "catalog-16-dispute"),
                       ("/open-list/focus", "catalog-17-focus")):
        page.goto(f"{url}{path}")
        shot(page, name)
    page.goto(f"{url}/open-list/changes")
    page.click("[data-testid=change-row] a")
    assert page.locator("[data-testid=diff] tbody tr").count() == 3  # title, keywords, annual focus
    shot(page, "catalog-13-change-detail")
    _logout(page)

    _login(page, url, "expert")
    page.goto(f"{url}/open-list/opinions/taxi-trips")
    assert "车牌假名化后能否无条件开放？" in page.content()
    shot(page, "catalog-18-expert-opinion")
    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    shot(page, "catalog-19-expert-opinion-en")
    _logout(page)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True)
    small = phone.new_page()
    small.goto(f"{url}/datasets/bus-stops")
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    shot(small, "catalog-20-dataset-phone")
    phone.close()
