"""A visitor previews a published dataset in a real browser: filters, sorts and pages the preview
table, draws bar and pie charts of a group-by with ECharts and downloads the CSV."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest

from kaifang.i18n import gettext, reset_locale, set_locale
from tests.browser.conftest import shot
from tests.unit.access.helpers import make_data_world, publish_entry

DISTRICTS = ["东湖区", "西湖区", "青山湖区", "新建区", "红谷滩区"]
HEADER = ["企业名称", "所在区", "注册资本", "员工人数", "成立日期"]
TYPES = {"注册资本": "decimal", "员工人数": "integer", "成立日期": "date"}
ROWS = [[f"企业{i:03d}", DISTRICTS[(i % 9) // 2], f"{(i * 37) % 500 + 0.5:.1f}", i % 37,
         f"20{10 + i % 12}-0{1 + i % 9}-1{i % 10}"] for i in range(130)]


@pytest.fixture
def firms(session, settings) -> None:
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "firms", HEADER, ROWS, types=TYPES, title="市场主体登记信息")


def in_chinese(message: str, **params: object) -> str:
    token = set_locale("zh_CN")
    try:
        return gettext(message, **params)
    finally:
        reset_locale(token)


def _column(page, name: str) -> list[str]:
    index = HEADER.index(name)
    return page.locator("[data-testid=preview-table] tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{index}].innerText)")


def _wait_total(page, total: int) -> None:
    page.wait_for_selector(f"[data-testid=preview-total][data-total='{total}']")


def _painted(page) -> int:
    """Pixels the chart's canvas has drawn on (0 for an empty chart)."""
    return page.locator("[data-testid=chart] canvas").first.evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;"
        " for (let i = 3; i < d.length; i += 4) { if (d[i]) n++; } return n; }")


def _draw(page, chart_type: str, group: str, measure: str = "count") -> None:
    page.select_option("[data-testid=chart-group]", group)
    page.select_option("[data-testid=chart-measure]", measure)
    page.check(f"[data-testid=chart-type-{chart_type}]")
    page.click("[data-testid=chart-draw]")
    page.wait_for_selector(f"[data-testid=chart][data-type={chart_type}][data-state=drawn]", timeout=15_000)
    assert _painted(page) > 2000


def test_preview_filter_sort_page_chart_and_download(live_server, page, firms):
    url = live_server.url
    page.goto(f"{url}/datasets/firms")
    _wait_total(page, len(ROWS))
    assert page.inner_text("[data-testid=data-version]").startswith("第 1 版")
    shot(page, "data-01-dataset-zh")

    # Filter: 所在区 = 东湖区
    form = page.locator("[data-testid=preview-form]")
    form.locator("[data-testid=filter-column]").first.select_option("所在区")
    form.locator("[data-testid=filter-value]").first.fill("东湖区")
    form.locator("[data-testid=apply-filters]").click()
    expected = sum(1 for r in ROWS if r[1] == "东湖区")
    _wait_total(page, expected)
    assert set(_column(page, "所在区")) == {"东湖区"} and len(_column(page, "所在区")) == 20

    # Sort by 注册资本: ascending, then descending
    page.click("[data-testid='sort-注册资本']")
    page.wait_for_selector("th[data-column='注册资本'][aria-sort=ascending]")
    page.click("[data-testid='sort-注册资本']")
    page.wait_for_selector("th[data-column='注册资本'][aria-sort=descending]")
    capitals = sorted((float(r[2]) for r in ROWS if r[1] == "东湖区"), reverse=True)
    first = [float(v) for v in _column(page, "注册资本")]
    assert first == capitals[:20]
    shot(page, "data-02-filtered-sorted-zh")

    # Next page, then back
    page.click("[data-testid=page-next]")
    page.wait_for_selector("[data-testid=preview-page][data-page='2']")
    assert [float(v) for v in _column(page, "注册资本")] == capitals[20:]
    page.click("[data-testid=page-previous]")
    page.wait_for_selector("[data-testid=preview-page][data-page='1']")
    assert [float(v) for v in _column(page, "注册资本")] == first

    # A wrong value: the message is next to the filter and the typed value stays
    form.locator("[data-testid=filter-op]").first.select_option("eq")
    form.locator("[data-testid=filter-column]").nth(1).select_option("注册资本")
    form.locator("[data-testid=filter-op]").nth(1).select_option("gt")
    form.locator("[data-testid=filter-value]").nth(1).fill("一百")
    form.locator("[data-testid=apply-filters]").click()
    page.wait_for_selector("[data-testid=filter-error]")
    assert page.inner_text("[data-testid=filter-error]") == in_chinese("“%(value)s” is not a number.", value="一百")
    assert form.locator("[data-testid=filter-value]").nth(1).input_value() == "一百"
    shot(page, "data-03-filter-error-zh")
    page.click("[data-testid=clear-filters]")
    _wait_total(page, len(ROWS))

    # Charts of a group-by
    _draw(page, "bar", "所在区")
    counts = Counter(r[1] for r in ROWS)
    table = page.locator("[data-testid=chart-table] tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    assert [(name, int(n)) for name, n in table] == sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    page.locator("[data-testid=chart-builder]").scroll_into_view_if_needed()
    shot(page, "data-04-bar-chart-zh")
    # A pie of sums over the rows a filter keeps; a wrong filter value is marked first
    builder = page.locator("[data-testid=chart-form]")
    builder.locator("[data-testid=filter-column]").first.select_option("员工人数")
    builder.locator("[data-testid=filter-op]").first.select_option("gt")
    builder.locator("[data-testid=filter-value]").first.fill("很多")
    page.click("[data-testid=chart-draw]")
    error = page.locator("[data-testid=chart-field-error]")
    assert error.inner_text() == in_chinese("“%(value)s” is not a whole number.", value="很多")
    builder.locator("[data-testid=filter-value]").first.fill("3")
    builder.locator("[data-add-filter]").click()
    second = builder.locator("[data-testid=filter-row]").nth(1)
    second.locator("[data-testid=filter-column]").select_option("所在区")
    second.locator("[data-testid=filter-op]").select_option("ne")
    second.locator("[data-testid=filter-value]").fill("红谷滩区")
    _draw(page, "pie", "所在区", "sum:注册资本")
    assert error.count() == 0 and "注册资本合计" in page.inner_text("[data-testid=chart-title]")
    sums: Counter[str] = Counter()
    for r in ROWS:
        if r[3] > 3 and r[1] != "红谷滩区":
            sums[r[1]] += float(r[2])
    table = page.locator("[data-testid=chart-table] tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[0].textContent, r.cells[1].textContent])")
    assert {name: float(v.replace(",", "")) for name, v in table} == pytest.approx(dict(sums))
    shot(page, "data-05-pie-chart-zh")

    # Download the CSV
    with page.expect_download() as info:
        page.click("[data-testid=download-csv]")
    download = info.value
    assert download.suggested_filename == "firms-v1.csv"
    with open(download.path(), encoding="utf-8") as fh:
        content = list(csv.reader(io.StringIO(fh.read())))
    assert content[0] == HEADER and len(content) == len(ROWS) + 1
    assert content[1][:2] == ROWS[0][:2] and float(content[1][2]) == float(ROWS[0][2])

    page.goto(f"{url}/datasets/firms/preview?fc=所在区&fo=in&fv=东湖区,西湖区&sort=-员工人数&limit=50")
    _wait_total(page, sum(1 for r in ROWS if r[1] in ("东湖区", "西湖区")))
    shot(page, "data-06-preview-page-zh")
    page.goto(f"{url}/datasets/firms")
    _wait_total(page, len(ROWS))

    # The same in English
    page.click("a[data-lang=en]")
    page.wait_for_load_state()
    _wait_total(page, len(ROWS))
    assert page.inner_text("[data-testid=data-version]").startswith("Version 1")
    _draw(page, "line", "成立日期", "avg:员工人数")
    assert page.inner_text("[data-testid=chart-title]") == "Average of 员工人数 by 成立日期"
    dates = sorted({r[4] for r in ROWS})
    assert page.inner_text("[data-testid=chart-note]").startswith(f"Only the first 50 of {len(dates)} groups")
    drawn = page.locator("[data-testid=chart-table] tbody tr").evaluate_all("rows => rows.map(r => r.cells[0].textContent)")
    assert drawn == dates[:50]  # a line follows its groups' order
    shot(page, "data-07-dataset-en")
    page.goto(f"{url}/datasets/firms/preview?fc=所在区&fo=in&fv=东湖区,西湖区&sort=-员工人数&limit=50")
    _wait_total(page, sum(1 for r in ROWS if r[1] in ("东湖区", "西湖区")))
    shot(page, "data-08-preview-page-en")


def test_preview_and_chart_on_a_phone(live_server, browser, firms):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/datasets/firms")
        _wait_total(page, len(ROWS))
        wrap = page.locator("[data-testid=preview] .table-wrap")
        assert wrap.evaluate("w => w.scrollWidth > w.clientWidth")  # the table scrolls, not the page
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        _draw(page, "pie", "所在区")
        shot(page, "data-09-phone-zh")
    finally:
        context.close()


def test_conditional_data_says_how_to_get_access(live_server, page, session, settings):
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "permits", HEADER, ROWS[:20], types=TYPES, open_type="conditional",
                  title="建设工程许可信息")
    page.goto(f"{live_server.url}/datasets/permits")
    panel = page.locator("[data-testid=data-panel]")
    assert panel.get_attribute("data-state") == "conditional"
    assert page.locator("[data-testid=preview-table], [data-testid=data-version]").count() == 0
    shot(page, "data-10-conditional-zh")
    page.click("a[data-lang=en]")
    page.wait_for_selector("[data-testid=data-panel][data-state=conditional]")
    assert "apply for access" in panel.inner_text()
    shot(page, "data-11-conditional-en")
