"""The data section of the dataset page, the preview and the chart data, over HTTP: what each
visitor is shown or refused, filters, sort and paging checked against the data, and the log."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaifang.access.grants import do_create_grant
from kaifang.access.models import AccessLog
from kaifang.app import create_app
from kaifang.cases.clocks import china_today
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput
from kaifang.catalog.review import do_review_step, do_submit_entry
from kaifang.i18n import gettext, reset_locale, set_locale
from tests.functional.conftest import login
from tests.unit.access.helpers import entry_fields, make_data_world, publish_entry

DISTRICTS = ["东湖区", "西湖区", "青山湖区", "新建区"]
HEADER = ["企业名称", "所在区", "注册资本", "员工人数", "成立日期"]
TYPES = {"注册资本": "decimal", "员工人数": "integer", "成立日期": "date"}
ROWS = [[f"企业{i:02d}", DISTRICTS[i % 7 % 4], f"{(i * 37) % 500 + 0.5:.1f}", i % 9, f"2020-{1 + i % 12:02d}-15"]
        for i in range(60)]
PERMIT_HEADER = ["许可编号", "所在区", "联系电话", "金额"]
PERMITS = [[f"XK{i:03d}", DISTRICTS[i % 4], f"1380013{i:04d}", i * 10] for i in range(40)]
TABLE_ROW = re.compile(r"<tr>(<td.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.fixture
def settings(settings):
    # Open-data accesses are logged at once rather than in background batches.
    return settings.with_overrides(access_log_flush_seconds=0)


@pytest.fixture
def world(session, settings):
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "firms", HEADER, ROWS, types=TYPES)
    return world


def in_chinese(message: str, **params: object) -> str:
    token = set_locale("zh_CN")
    try:
        return gettext(message, **params)
    finally:
        reset_locale(token)


def catalog_only(session, settings, world, name: str, open_type: str):
    """A published catalog entry with no data version."""
    entry = do_create_entry(session, world.staff, world.provider,
                            entry_fields(name, open_type, [DataItemInput("名称", "string", "名称")]))
    do_submit_entry(session, settings, world.staff, entry)
    do_review_step(session, settings, world.reviewer, entry, "approve")
    do_review_step(session, settings, world.reviewer, entry, "publish")
    session.commit()
    return entry


def panel(html: str) -> str:
    start = html.find('data-testid="data-panel"')
    return html[start:html.find("</section>", start)] if start >= 0 else ""


def rows_of(html: str) -> list[list[str]]:
    table = html[html.find('data-testid="preview-table"'):]
    table = table[:table.find("</table>")]
    return [[unescape(c) for c in CELL.findall(row)] for row in TABLE_ROW.findall(table)]


def link(html: str, testid: str) -> str | None:
    match = re.search(rf'href="([^"]+)"[^>]*data-testid="{testid}"', html)
    return unescape(match.group(1)) if match else None


def total_of(html: str) -> int:
    match = re.search(r'data-testid="preview-total" data-total="(\d+)"', html)
    assert match, html[:2000]
    return int(match.group(1))


def preview(client: TestClient, **params: str | list[str]):
    return client.get("/datasets/firms/preview", params=params, headers={"HX-Request": "true"})


# ---- the data section -------------------------------------------------------------------------

def test_open_data_panel_shows_the_version_downloads_api_preview_and_chart(client, world):
    html = client.get("/datasets/firms").text
    section = panel(html)
    assert 'data-state="open"' in section
    assert in_chinese("Version %(number)s", number=1) in section
    assert in_chinese("%(rows)s rows", rows=len(ROWS)) in section
    hrefs = {key: unescape(link(section, f"download-{key}") or "")
             for key in ("csv", "csv-excel", "csv-gbk", "xlsx", "json", "parquet")}
    assert hrefs["csv"] == "/api/v1/datasets/firms/download.csv"
    assert link(section, "download-geojson") is None  # no positions in this dataset
    excel, gbk = client.get(hrefs["csv-excel"]), client.get(hrefs["csv-gbk"])
    assert excel.content.startswith(b"\xef\xbb\xbf") and excel.content[3:].decode().startswith(",".join(HEADER))
    assert gbk.content.decode("gbk").startswith(",".join(HEADER))
    for key in ("xlsx", "json", "parquet"):
        assert client.get(hrefs[key]).status_code == 200, key
    assert "/api/v1/datasets/firms/rows" in section and 'href="/api/docs"' in section
    assert 'hx-get="/datasets/firms/preview"' in section and 'href="/datasets/firms/preview"' in section
    assert 'data-endpoint="/datasets/firms/chart-data"' in section and 'value="sum:注册资本"' in section
    assert 'value="sum:企业名称"' not in section  # only number columns are measured
    # ECharts is fetched when a chart is drawn, not with the page
    assert html.count("/static/kaifang-data.js") == 1 and '<script src="/static/vendor/echarts' not in html


def test_data_with_positions_offers_geojson(client, session, settings, world):
    sites = [[f"站点{i}", f"{115.85 + i / 100:.4f}", f"{28.68 + i / 100:.4f}"] for i in range(5)]
    publish_entry(session, settings, world, "sites", ["名称", "经度", "纬度"], sites,
                  types={"经度": "decimal", "纬度": "decimal"})
    href = link(panel(client.get("/datasets/sites").text), "download-geojson")
    assert href == "/api/v1/datasets/sites/download.geojson"
    features = client.get(href).json()["features"]
    assert [f["geometry"]["coordinates"] for f in features] == [[float(s[1]), float(s[2])] for s in sites]


def test_no_version_and_non_open_entries(client, new_client, session, settings, world):
    catalog_only(session, settings, world, "pending", "unconditional")
    catalog_only(session, settings, world, "closed", "non_open")
    section = panel(client.get("/datasets/pending").text)
    assert 'data-state="no_version"' in section and "data-version" not in section
    assert client.get("/datasets/pending/preview").status_code == 404
    assert client.get("/datasets/pending/chart-data", params={"group_by": "名称"}).status_code == 404

    staff = new_client()
    login(staff, "staff")  # the provider sees its non-open entry, which has no data section
    page = staff.get("/datasets/closed")
    assert page.status_code == 200 and 'data-testid="data-panel"' not in page.text
    assert staff.get("/datasets/closed/preview").status_code == 404
    chart = staff.get("/datasets/closed/chart-data", params={"group_by": "名称"})
    assert chart.status_code == 404 and chart.json()["error"]["code"] == "NotFound"


def test_where_data_needs_a_verified_identity(session, settings, world):
    app = create_app(settings.with_overrides(jurisdiction="chongqing"))
    try:
        with TestClient(app, follow_redirects=False) as anonymous:
            section = panel(anonymous.get("/datasets/firms").text)
            assert 'data-state="login"' in section and "/login?next=%2Fdatasets%2Ffirms" in section
            assert "data-version" not in section and str(len(ROWS)) not in section
            assert anonymous.get("/datasets/firms/preview").status_code == 303  # to the login page
            assert preview(anonymous).status_code == 401
            assert anonymous.get("/datasets/firms/chart-data", params={"group_by": "所在区"}).status_code == 401
        with TestClient(app, follow_redirects=False) as unverified:
            login(unverified, "staff")
            section = panel(unverified.get("/datasets/firms").text)
            assert 'data-state="verify"' in section and 'href="/account"' in section
            assert str(len(ROWS)) not in section
            assert preview(unverified).status_code == 403
        with TestClient(app, follow_redirects=False) as verified:
            login(verified, "citizen")
            assert 'data-state="open"' in panel(verified.get("/datasets/firms").text)
            assert total_of(preview(verified).text) == len(ROWS)
    finally:
        app.state.engine.dispose()


def test_conditional_data_without_and_with_a_grant(client, new_client, session, settings, world):
    entry = publish_entry(session, settings, world, "permits", PERMIT_HEADER, PERMITS, open_type="conditional",
                          types={"金额": "integer"})
    login(client, "citizen")
    section = panel(client.get("/datasets/permits").text)
    assert 'data-state="conditional"' in section and "data-version" not in section
    assert str(len(PERMITS)) not in section and "XK0" not in section
    assert client.get("/datasets/permits/preview").status_code == 403
    assert client.get("/datasets/permits/chart-data", params={"group_by": "所在区"}).status_code == 403

    today = china_today()
    do_create_grant(session, world.staff, entry=entry, user=world.other.user, columns=["许可编号", "联系电话", "金额"],
                    row_filter=[{"column": "所在区", "op": "eq", "value": "东湖区"}], modes=["download"],
                    valid_from=today, valid_until=today + dt.timedelta(days=30))
    session.commit()
    grantee = new_client()
    login(grantee, "other")
    scoped = [r for r in PERMITS if r[1] == "东湖区"]
    section = panel(grantee.get("/datasets/permits").text)
    assert 'data-state="open"' in section and 'data-testid="data-scope"' in section
    assert in_chinese("%(rows)s rows", rows=len(scoped)) in section
    assert 'data-testid="api-links"' not in section  # the grant is for downloads only
    page = grantee.get("/datasets/permits/preview", params={"limit": "100"}, headers={"HX-Request": "true"})
    assert total_of(page.text) == len(scoped)
    rows = rows_of(page.text)
    assert [r[0] for r in rows] == [r[0] for r in scoped] and all(len(r) == 3 for r in rows)
    assert all(re.fullmatch(r"[0-9a-f]{16}", r[1]) for r in rows)  # pseudonyms, not the numbers
    assert "所在区" not in page.text  # neither the column outside the grant nor its filter
    chart = grantee.get("/datasets/permits/chart-data", params={"group_by": "金额", "measure": "count"}).json()
    assert sum(r["value"] for r in chart["rows"]) == len(scoped)
    logged = session.scalars(select(AccessLog).where(AccessLog.grant_id.is_not(None))).all()
    assert {(a.channel, a.action) for a in logged} == {("preview", "rows"), ("chart", "aggregate")}


# ---- the preview ------------------------------------------------------------------------------

def test_preview_filters_sorts_and_pages_through_every_row_once(client, world):
    wanted = [r for r in ROWS if r[1] == "东湖区"]
    filters = {"fc": "所在区", "fo": "eq", "fv": "东湖区"}
    page = preview(client, **filters, limit="20")
    assert page.status_code == 200 and total_of(page.text) == len(wanted)
    assert {r[1] for r in rows_of(page.text)} == {"东湖区"}

    descending = preview(client, **filters, sort="-注册资本")
    assert 'aria-sort="descending" class="num" data-column="注册资本"' in descending.text
    seen = []
    html = descending.text
    while True:
        seen += rows_of(html)
        following = link(html, "page-next")
        if following is None:
            break
        html = client.get(following, headers={"HX-Request": "true"}).text
    assert [float(r[2]) for r in seen] == sorted((float(r[2]) for r in wanted), reverse=True)
    assert len({r[0] for r in seen}) == len(wanted)
    # The header link reverses the order and starts again from the first page
    ascending = client.get(link(descending.text, "sort-注册资本"), headers={"HX-Request": "true"})
    assert 'aria-sort="ascending"' in ascending.text
    assert [float(r[2]) for r in rows_of(ascending.text)] == sorted(float(r[2]) for r in wanted)[:20]


def test_previous_and_first_page_return_the_pages_already_seen(client, world):
    first = client.get("/datasets/firms/preview")  # the full page, without htmx
    assert first.status_code == 200 and "<html" in first.text and 'hx-push-url="true"' in first.text
    second = client.get(link(first.text, "page-next"))
    third = client.get(link(second.text, "page-next"))
    assert [r[0] for r in rows_of(third.text)] == [r[0] for r in ROWS[40:60]]
    assert link(third.text, "page-next") is None
    back = client.get(link(third.text, "page-previous"))
    assert rows_of(back.text) == rows_of(second.text) and 'data-page="2"' in back.text
    assert rows_of(client.get(link(back.text, "page-previous")).text) == rows_of(first.text)
    assert rows_of(client.get(link(third.text, "page-first")).text) == rows_of(first.text)
    bigger = client.get("/datasets/firms/preview", params={"limit": "50"})
    assert len(rows_of(bigger.text)) == 50 and 'value="50" selected' in bigger.text


def test_a_wrong_filter_value_is_explained_next_to_it_and_kept(client, world):
    page = preview(client, fc=["所在区", "注册资本"], fo=["eq", "gt"], fv=["东湖区", "一百万"])
    assert page.status_code == 400
    assert in_chinese("“%(value)s” is not a number.", value="一百万") in page.text
    assert re.search(r'name="fv"[^>]*value="一百万"[^>]*aria-invalid="true"', page.text)
    assert 'value="东湖区"' in page.text and 'data-testid="preview-table"' not in page.text
    full = client.get("/datasets/firms/preview", params={"fc": "成立日期", "fo": "contains", "fv": "2020"})
    assert full.status_code == 400 and "<html" in full.text and 'data-testid="filter-error"' in full.text


def test_a_page_token_of_another_query_starts_again_from_the_first_page(client, world):
    first = preview(client)
    token = dict(parse_qsl(urlsplit(link(first.text, "page-next") or "").query))["next"]
    page = preview(client, fc="所在区", fo="eq", fv="西湖区", next=token)
    assert page.status_code == 200 and 'data-testid="preview-notice"' in page.text
    assert 'data-page="1"' in page.text and {r[1] for r in rows_of(page.text)} == {"西湖区"}


# ---- chart data -------------------------------------------------------------------------------

def test_chart_data_counts_and_sums_a_group_by(client, world):
    counts = client.get("/datasets/firms/chart-data", params={"group_by": "所在区", "type": "bar"}).json()
    expected = Counter(r[1] for r in ROWS)
    assert [(r["name"], r["value"]) for r in counts["rows"]] == sorted(expected.items(), key=lambda kv: (-kv[1], kv[0]))
    assert counts["note"] == "" and counts["measure_title"] == in_chinese("Number of rows")

    sums = client.get("/datasets/firms/chart-data", params={
        "group_by": "所在区", "measure": "sum:注册资本", "fc": "员工人数", "fo": "gte", "fv": "3"}).json()
    totals: Counter[str] = Counter()
    for r in ROWS:
        if r[3] >= 3:
            totals[r[1]] += float(r[2])
    assert {r["name"]: r["value"] for r in sums["rows"]} == pytest.approx(dict(totals))

    many = client.get("/datasets/firms/chart-data", params={"group_by": "企业名称"}).json()
    assert len(many["rows"]) == 50 and many["groups"] == len(ROWS) and many["others"] == len(ROWS) - 50
    assert in_chinese("Only the %(shown)s largest of %(groups)s groups are shown; the other %(rest)s together: "
                      "%(others)s.", shown=50, groups=len(ROWS), rest=10, others=10) == many["note"]
    line = client.get("/datasets/firms/chart-data", params={"group_by": "成立日期", "type": "line"}).json()
    assert [r["name"] for r in line["rows"]] == sorted({r[4] for r in ROWS})


def test_chart_data_refuses_what_it_cannot_draw_naming_the_field(client, world):
    text = client.get("/datasets/firms/chart-data", params={"group_by": "所在区", "measure": "max:成立日期"})
    assert text.status_code == 400 and "measure" in text.json()["error"]["fields"]
    no_group = client.get("/datasets/firms/chart-data", params={"group_by": ""})
    assert no_group.status_code == 400 and "group_by" in no_group.json()["error"]["fields"]
    wrong = client.get("/datasets/firms/chart-data", params={
        "group_by": "所在区", "fc": ["企业名称", "员工人数"], "fo": ["eq", "gt"], "fv": ["", "很多"]})
    error = wrong.json()["error"]
    assert wrong.status_code == 400 and error["filter"] == 1  # the second row of the form
    assert error["fields"] == {"员工人数__gt": [in_chinese("“%(value)s” is not a whole number.", value="很多")]}


def test_previews_and_charts_are_logged_with_what_was_served(client, session, world):
    page = preview(client, fc="所在区", fo="eq", fv="东湖区")
    chart = client.get("/datasets/firms/chart-data", params={"group_by": "所在区", "measure": "avg:员工人数"})
    preview(client, fc="注册资本", fo="gt", fv="x")  # refused: nothing served, nothing logged
    logged = session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
    assert [(a.channel, a.action, a.format) for a in logged] == [("preview", "rows", "html"),
                                                                 ("chart", "aggregate", "json")]
    shown, drawn = logged
    assert shown.rows == min(20, sum(1 for r in ROWS if r[1] == "东湖区")) and shown.sha256 == hashlib.sha256(page.content).hexdigest()
    assert ["所在区__eq", "东湖区"] in shown.params["query"] and shown.user_id is None
    assert drawn.rows == len(DISTRICTS) and drawn.sha256 == hashlib.sha256(chart.content).hexdigest()
