"""A provider uploads a GBK CSV of people, sees what was detected, masks and pseudonymises, and
publishes the version — in a real browser, against a real server and job worker."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator

import pytest

from kaifang.jobs import jobs_for
from tests.browser.conftest import shot
from tests.factories import PASSWORD
from tests.unit.datasets.helpers import make_world, write_csv

ID_MASK = re.compile(r"^\d{6}\*{8}[\dX]{4}$")


@pytest.fixture
def worker(settings) -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    huey = jobs_for(settings).huey
    consumer = huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.2,
                                    check_worker_health=False, worker_type="thread")
    consumer.start()
    yield
    consumer.stop(graceful=True)
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def _login(page, url: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#login", "staff")
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def test_upload_detect_desensitise_publish(live_server, page, session, settings, worker, tmp_path):
    make_world(session, settings)
    url = live_server.url
    _login(page, url)

    page.goto(f"{url}/datasets/registrations/versions")
    shot(page, "ingest-01-versions-empty-zh")
    bad = tmp_path / "错行.csv"
    bad.write_text("身份证号,姓名\n11010519491231002X,张三,多余\n", encoding="utf-8")
    page.set_input_files("#file", str(bad))
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/jobs/"))
    page.wait_for_selector("[data-testid=job-error]")
    assert "各行列数不一致" in page.inner_text("[data-testid=job-error]")
    shot(page, "ingest-02-bad-file-zh")

    page.goto(f"{url}/datasets/registrations/versions")
    page.set_input_files("#file", str(write_csv(tmp_path / "居民登记.csv", 300)))  # GBK
    page.click("[data-testid=upload-submit]")
    page.wait_for_url(re.compile(r"/jobs/"))
    page.wait_for_selector("[data-testid=report]", timeout=30_000)
    kinds = {row.get_attribute("data-column"): row.get_attribute("data-kind")
             for row in page.query_selector_all("[data-testid=plan-form] tr[data-column]")}
    assert kinds["身份证号"] == "resident_id" and kinds["手机号"] == "mobile"
    assert kinds["姓名"] == "person_name" and kinds["统一社会信用代码"] == "uscc"
    assert kinds["订单号"] == ""  # 18 digits failing the check digit are not ID numbers
    assert "gbk" in page.inner_text("[data-testid=report]")
    shot(page, "ingest-03-detection-zh")
    report_url = page.url

    page.select_option("[data-testid='action-手机号']", "pseudonym")
    assert page.input_value("[data-testid='action-身份证号']") == "mask"
    assert page.input_value("[data-testid='action-姓名']") == "mask"
    page.click("[data-testid=confirm-plan]")
    page.wait_for_selector("[data-testid=open-version]", timeout=30_000)
    shot(page, "ingest-04-version-written-zh")
    page.click("[data-testid=open-version]")

    preview = page.locator("[data-testid=preview]")
    headers = preview.locator("thead th").all_inner_texts()
    first = preview.locator("tbody tr").first.locator("td").all_inner_texts()
    row = dict(zip(headers, first, strict=True))
    assert row["身份证号"] == "110105********002X" and ID_MASK.match(row["身份证号"])
    assert re.fullmatch(r"[0-9a-f]{16}", row["手机号"])
    assert row["姓名"].endswith("*") and len(row["统一社会信用代码"]) == 18
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=version-status]")
    assert page.inner_text("[data-testid=version-status]") == "当前版本"
    shot(page, "ingest-05-version-published-zh")

    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    assert page.inner_text("[data-testid=version-status]") == "Current version"
    shot(page, "ingest-06-version-en")
    page.goto(report_url)
    shot(page, "ingest-07-detection-en")
    page.goto(f"{url}/datasets/registrations/versions")
    assert "Version 1" in page.inner_text("[data-testid=current-version]")
    shot(page, "ingest-08-versions-en")
