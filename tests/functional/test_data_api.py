"""The row, field and aggregate API over one published dataset, checked against a Python
computation on the rows that were ingested; refusals are 400s naming the parameter, in Chinese by
default and in English on request; every call is logged with the SHA-256 of the bytes sent."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from kaifang.access.models import AccessLog
from tests.functional.data_world import (
    FIRMS_HEADER,
    FIRMS_TYPES,
    Shared,
    as_json,
    firm_rows,
    kept,
    records,
    shared_world,
    sort_rows,
)

ROWS = firm_rows(45)
FIRMS = records(ROWS)
BASE = "/api/v1/datasets/firms"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def shared(_db_template, tmp_path_factory) -> Iterator[Shared]:
    with shared_world(_db_template, tmp_path_factory.mktemp("data-api"),
                      {"firms": {"header": FIRMS_HEADER, "rows": ROWS, "types": FIRMS_TYPES}}) as world:
        yield world


def get(shared: Shared, path: str, params: Any = None, **headers: str):
    return shared.client.get(BASE + path, params=params, headers=headers)


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["企业名称"] for r in rows]


def test_fields_describe_the_current_version(shared):
    body = get(shared, "/fields").json()
    assert body["dataset"] == "firms" and body["version"] == 1 and body["rows"] == len(ROWS)
    assert [(f["name"], f["type"]) for f in body["fields"]] == [
        ("企业名称", "text"), ("所在区", "text"), ("注册资本", "number"), ("员工数", "integer"), ("成立日期", "date"),
        ("更新时间", "datetime"), ("在营", "boolean"), ("limit", "text"), ("备注", "text")]
    assert body["downloads"] == ["csv", "xlsx", "json", "parquet"]  # no positions, no GeoJSON


def test_the_first_page_and_its_total(shared):
    response = get(shared, "/rows", {"total": "true"})
    body = response.json()
    assert response.headers["X-Kaifang-Version"] == "1"
    assert body["total"] == len(ROWS) and body["next"] is None and body["next_url"] is None
    assert body["rows"] == [{k: as_json(v) for k, v in r.items()} for r in FIRMS]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


PAGED = [
    ([], [], []),
    ([("sort", "-注册资本,成立日期")], [("注册资本", True), ("成立日期", False)], []),
    ([("sort", "所在区,-更新时间,在营")], [("所在区", False), ("更新时间", True), ("在营", False)], []),
    ([("员工数__gte", "3"), ("sort", "在营")], [("在营", False)], [("员工数", "gte", 3)]),
    ([("所在区__ne", "渝中区"), ("sort", "-所在区")], [("所在区", True)], [("所在区", "ne", "渝中区")]),
    ([("所在区__in", '["渝中区", "江北区"]'), ("员工数__lt", "5")], [], [("所在区", "in", ("渝中区", "江北区")),
                                                                   ("员工数", "lt", 5)]),
    ([("注册资本__isnull", "true")], [], [("注册资本", "isnull", True)]),
    ([("成立日期__lt", "2020-01-03"), ("sort", "-成立日期")], [("成立日期", True)], [("成立日期", "lt", d("2020-01-03"))]),
    ([("更新时间__gte", "2024-05-01T08:02:00"), ("sort", "更新时间")], [("更新时间", False)],
     [("更新时间", "gte", dt.datetime(2024, 5, 1, 8, 2))]),
    ([("更新时间__lt", "2024-05-01T00:02:00Z")], [], [("更新时间", "lt", dt.datetime(2024, 5, 1, 8, 2))]),
    ([("在营", "否")], [], [("在营", "eq", False)]),
    ([("备注__startswith", "="), ("sort", "-企业名称")], [("企业名称", True)], [("备注", "startswith", "=")]),
    ([("备注__contains", ","), ("在营__isnull", "false")], [], [("备注", "contains", ","), ("在营", "isnull", False)]),
    ([("limit__eq", "x"), ("sort", "-limit")], [("limit", True)], [("limit", "eq", "x")]),
    ([("注册资本__gt", "1e9")], [], [("注册资本", "gt", 1e9)]),
]


@pytest.mark.parametrize(("params", "sort", "conditions"), PAGED)
def test_keyset_pages_serve_every_matching_row_once_in_order(shared, params, sort, conditions):
    expected = sort_rows(kept(FIRMS, conditions), sort)
    got, first, token, pages = [], None, None, 0
    while True:
        page_params = [*params, ("limit", "7"), ("total", "true"), ("fields", "企业名称,注册资本")]
        response = get(shared, "/rows", page_params + ([("next", token)] if token else []))
        assert response.status_code == 200, response.text
        body = response.json()
        first = body["total"] if first is None else first
        got += body["rows"]
        pages += 1
        token = body["next"]
        if token is None:
            assert "Link" not in response.headers
            break
        assert response.headers["Link"] == f'<{body["next_url"]}>; rel="next"'
    assert names(got) == names(expected) and len(set(names(got))) == len(got)
    assert [r["注册资本"] for r in got] == [r["注册资本"] for r in expected]
    assert first == len(expected)
    assert pages == max(1, -(-len(expected) // 7))


def test_rows_as_csv(shared):
    response = get(shared, "/rows", {"fields": "企业名称,备注,注册资本", "format": "csv", "limit": "1000"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))
    assert table[0] == ["企业名称", "备注", "注册资本"]
    assert [row[0] for row in table[1:]] == names(FIRMS)
    neutral = {"=1+2": "'=1+2", "@SUM(A1)": "'@SUM(A1)", "-2+3": "'-2+3", "-12.5": "-12.5"}
    assert [row[1] for row in table[1:]] == [neutral.get(r["备注"], r["备注"] or "") for r in FIRMS]


def _groups(rows: list[dict[str, Any]], by: list[str]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[b] for b in by), []).append(row)
    return groups


def _measure(label: str, rows: list[dict[str, Any]]) -> Any:
    function, _sep, column = label.partition(":")
    if function == "count":
        return len(rows)
    values = [r[column] for r in rows if r[column] is not None]
    if not values:
        return None
    return as_json({"sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v)}[function](values))


AGGREGATES = [
    ([("group_by", "所在区"), ("measures", "count,sum:注册资本,avg:员工数,min:成立日期,max:更新时间")], ["所在区"], [], None),
    ([("group_by", "在营,所在区"), ("measures", "count,max:备注"), ("在营__isnull", "false")], ["在营", "所在区"],
     [("在营", "isnull", False)], None),
    ([("measures", "count,sum:员工数,avg:注册资本"), ("员工数__gt", "4")], [], [("员工数", "gt", 4)], None),
    ([("group_by", "成立日期"), ("measures", "count,sum:注册资本"), ("sort", "-count,成立日期")], ["成立日期"], [],
     [("count", True), ("成立日期", False)]),
    ([("group_by", "员工数"), ("measures", "sum:注册资本"), ("sort", "sum:注册资本")], ["员工数"], [],
     [("sum:注册资本", False)]),
]


@pytest.mark.parametrize(("params", "group_by", "conditions", "sort"), AGGREGATES)
def test_aggregates_match_a_python_computation(shared, params, group_by, conditions, sort):
    body = get(shared, "/aggregate", params).json()
    measures = body["measures"]
    groups = _groups(kept(FIRMS, conditions), group_by)
    expected = [{**dict(zip(group_by, (as_json(k) for k in key), strict=True)),
                 **{m: _measure(m, rows) for m in measures}} for key, rows in groups.items()]
    expected = sort_rows(sort_rows(expected, [(g, False) for g in group_by]), sort or [])
    assert body["group_by"] == group_by and body["truncated"] is False
    assert len(body["rows"]) == len(expected)
    for got, want in zip(body["rows"], expected, strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_aggregate_limit_says_when_groups_were_left_out(shared):
    body = get(shared, "/aggregate", {"group_by": "企业名称", "limit": "10", "sort": "-企业名称"}).json()
    assert body["truncated"] is True
    assert [r["企业名称"] for r in body["rows"]] == sorted(names(FIRMS), reverse=True)[:10]
    everything = get(shared, "/aggregate", {"group_by": "企业名称", "limit": str(len(ROWS))}).json()
    assert everything["truncated"] is False and len(everything["rows"]) == len(ROWS)


BAD = [
    ("/rows", {"税号": "1"}, "税号"),
    ("/rows", {"税号__eq": "1"}, "税号__eq"),
    ("/rows", {"员工数__like": "1"}, "员工数__like"),
    ("/rows", {"员工数": "三"}, "员工数"),
    ("/rows", {"注册资本__gt": "many"}, "注册资本__gt"),
    ("/rows", {"成立日期": "2020-02-30"}, "成立日期"),
    ("/rows", {"更新时间__lt": "0001-01-01T00:00:00+09:00"}, "更新时间__lt"),
    ("/rows", {"在营": "maybe"}, "在营"),
    ("/rows", {"在营__gt": "true"}, "在营__gt"),
    ("/rows", {"员工数__in": "[" * 3000}, "员工数__in"),
    ("/rows", {"limit": "1001"}, "limit"),
    ("/rows", {"limit": "0"}, "limit"),
    ("/rows", {"limit": "ten"}, "limit"),
    ("/rows", {"next": "not-a-token"}, "next"),
    ("/rows", {"next": "eyJ2IjoiMSJ9.AAAA"}, "next"),
    ("/rows", {"fields": "企业名称,税号"}, "fields"),
    ("/rows", {"sort": "-税号"}, "sort"),
    ("/rows", {"format": "xml"}, "format"),
    ("/rows", {"total": "perhaps"}, "total"),
    ("/aggregate", {"measures": "median:员工数"}, "measures"),
    ("/aggregate", {"measures": "sum:企业名称"}, "measures"),
    ("/aggregate", {"group_by": "税号"}, "group_by"),
    ("/aggregate", {"limit": "100000"}, "limit"),
    ("/download.xml", {}, "format"),
    ("/download.csv", {"encoding": "big5"}, "encoding"),
    ("/download.json", {"encoding": "gbk"}, "encoding"),
    ("/download.csv", {"bom": "sure"}, "bom"),
    ("/download.geojson", {}, "format"),
    ("/download.csv", {"员工数__gte": "x"}, "员工数__gte"),
]


@pytest.mark.parametrize(("path", "params", "param"), BAD)
def test_bad_parameters_are_400s_naming_the_parameter(shared, path, params, param):
    chinese = get(shared, path, params)
    assert chinese.status_code == 400, chinese.text
    error = chinese.json()["error"]
    assert error["code"] == "InvalidParameter" and list(error["fields"]) == [param]
    assert CJK.search(error["message"]), error["message"]  # Chinese by default
    english = get(shared, path, params, **{"Accept-Language": "en"}).json()["error"]
    assert list(english["fields"]) == [param] and english["message"] != error["message"]
    assert not CJK.search(re.sub(r"“[^”]*”", "", english["message"]))  # quoted names and values aside


def test_a_token_of_another_query_is_refused(shared):
    token = get(shared, "/rows", {"limit": "5", "sort": "员工数"}).json()["next"]
    response = get(shared, "/rows", {"limit": "5", "sort": "-员工数", "next": token})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["next"]


def _last_log(shared: Shared) -> AccessLog:
    with shared.session() as session:
        return session.scalars(select(AccessLog).order_by(AccessLog.id.desc())).first()


def test_each_call_is_logged_with_the_bytes_sent(shared):
    response = get(shared, "/rows", {"所在区": "渝中区", "limit": "3", "fields": "企业名称"})
    row = _last_log(shared)
    assert (row.channel, row.action, row.format, row.rows, row.complete) == ("api", "rows", "json", 3, True)
    assert row.bytes == len(response.content) and row.sha256 == hashlib.sha256(response.content).hexdigest()
    assert row.entry_id == shared.entry_ids["firms"] and row.user_id is None
    assert ["所在区", "渝中区"] in row.params["query"] and row.params["page"] is False

    response = get(shared, "/aggregate", {"group_by": "所在区"})
    row = _last_log(shared)
    assert (row.action, row.rows) == ("aggregate", len(response.json()["rows"]))
    assert row.sha256 == hashlib.sha256(response.content).hexdigest()

    response = get(shared, "/rows", {"format": "csv", "limit": "2"})
    row = _last_log(shared)
    assert (row.format, row.rows, row.bytes) == ("csv", 2, len(response.content))


def test_refused_calls_are_not_logged(shared):
    before = _last_log(shared).id
    assert get(shared, "/rows", {"limit": "x"}).status_code == 400
    assert _last_log(shared).id == before


def test_unknown_datasets_are_404(shared):
    response = shared.client.get("/api/v1/datasets/nothing-here/rows")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NotFound"


def test_openapi_describes_the_data_routes(shared):
    spec = shared.client.get("/api/openapi.json").json()
    rows = spec["paths"]["/api/v1/datasets/{name}/rows"]["get"]
    assert {p["name"] for p in rows["parameters"]} >= {"name", "fields", "sort", "limit", "next", "total", "format"}
    assert {"400", "404", "429"} <= set(rows["responses"])
    assert json.dumps(spec, ensure_ascii=False).count("column__operator") >= 3
