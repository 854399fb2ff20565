"""CKAN's datastore_search over the data API, called by the real ckanapi client against a live server
and through the test client: CKAN's parameters, result and error envelopes, offset paging that
serves every row once, and the data API's access checks, rate limits and access log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import ckanapi
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaifang.access.grants import do_create_grant
from kaifang.access.models import AccessLog
from kaifang.app import create_app
from kaifang.auth.actions import do_create_token
from kaifang.auth.models import User
from kaifang.auth.queries import principal_for
from kaifang.cases.clocks import china_today
from kaifang.catalog.dcat import stable_id
from kaifang.catalog.models import CatalogEntry
from tests.browser.conftest import LiveServer
from tests.functional.conftest import login
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
from tests.unit.catalog.search.helpers import make_entry

FIRMS = records(firm_rows(45))
ROSTER_HEADER = ["姓名", "所在区", "工号"]
ROSTER = [["张三", "渝中区", "A1"], ["李四", "江北区", "A2"], ["王五", "渝中区", "A3"]]
PATH = "/api/3/action/datastore_search"


@pytest.fixture(scope="module")
def shared(_db_template, tmp_path_factory) -> Iterator[Shared]:
    datasets = {
        "firms": {"header": FIRMS_HEADER, "rows": [list(r.values()) for r in FIRMS], "types": FIRMS_TYPES},
        "roster": {"header": ROSTER_HEADER, "rows": ROSTER, "open_type": "conditional",
                   "sensitivity": {"工号": "personal"}},
    }
    with shared_world(_db_template, tmp_path_factory.mktemp("datastore"), datasets) as world:
        yield world


@pytest.fixture(scope="module")
def server(shared) -> Iterator[LiveServer]:
    with LiveServer(shared.settings) as live:
        yield live


def api_resource(shared: Shared, name: str = "firms") -> str:
    return stable_id(shared.entry_ids[name], "api")


def search(shared: Shared, params: dict[str, Any] | None = None, *, post: bool = False, **headers: str):
    if post:
        return shared.client.post(PATH, json=params or {}, headers=headers)
    return shared.client.get(PATH, params=params, headers=headers)


def expected_record(row: dict[str, Any], fields: list[str] | None = None) -> dict[str, Any]:
    return {"_id": FIRMS.index(row) + 1, **{k: as_json(row[k]) for k in (fields or FIRMS_HEADER)}}


def test_ckanapi_pages_by_offset_through_every_row_once(shared, server):
    ckan = ckanapi.RemoteCKAN(server.url, user_agent="kaifang-tests")
    got, offset = [], 0
    while True:
        result = ckan.action.datastore_search(resource_id=api_resource(shared), limit=10, offset=offset,
                                              sort="注册资本 desc, 成立日期")
        if not result["records"]:
            break
        got += result["records"]
        offset += 10
        assert result["_links"]["next"].endswith(f"offset={offset}")
    expected = sort_rows(FIRMS, [("注册资本", True), ("成立日期", False)])
    assert got == [expected_record(r) for r in expected]
    assert result["total"] == len(FIRMS) and result["total_was_estimated"] is False
    assert [f["id"] for f in result["fields"]] == ["_id", *FIRMS_HEADER]
    assert [f["type"] for f in result["fields"]] == ["int", "text", "text", "numeric", "int", "date", "timestamp",
                                                     "bool", "text", "text"]


def test_ckanapi_filters_by_get_and_by_post(shared, server):
    wanted = kept(FIRMS, [("所在区", "in", ("渝中区", "江北区")), ("在营", "eq", True)])
    filters = {"所在区": ["渝中区", "江北区"], "在营": True}
    for get_only in (True, False):
        ckan = ckanapi.RemoteCKAN(server.url, user_agent="kaifang-tests", get_only=get_only)
        # A query string carries JSON text; a POST body the objects themselves.
        result = ckan.action.datastore_search(resource_id="firms", filters=json.dumps(filters) if get_only else filters,
                                              fields="企业名称,_id" if get_only else ["企业名称", "_id"], limit=1000)
        assert result["records"] == [{"_id": FIRMS.index(r) + 1, "企业名称": r["企业名称"]} for r in wanted]
        assert result["total"] == len(wanted)


def test_ckanapi_sees_ckans_errors(shared, server):
    ckan = ckanapi.RemoteCKAN(server.url, user_agent="kaifang-tests")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.datastore_search(resource_id="no-such-resource")
    with pytest.raises(ckanapi.ValidationError) as caught:
        ckan.action.datastore_search(resource_id="firms", filters={"税号": "1"})
    assert "filters" in caught.value.error_dict
    with pytest.raises(ckanapi.NotAuthorized):
        ckan.action.datastore_search(resource_id="roster")


def test_every_resource_id_of_the_dataset_reads_its_rows(shared):
    shown = shared.client.get("/api/3/action/package_show", params={"id": "firms"}).json()["result"]
    active = {r["format"]: r["datastore_active"] for r in shown["resources"]}
    assert active == {"CSV": False, "JSON": False, "API": True}
    for ref in [*(r["id"] for r in shown["resources"]), shown["id"], "firms"]:
        body = search(shared, {"resource_id": ref, "limit": 2}).json()
        assert body["success"] and body["result"]["resource_id"] == ref
        assert [r["企业名称"] for r in body["result"]["records"]] == ["企业000", "企业001"]


def test_datastore_active_needs_a_published_version(shared):
    with shared.session() as session:
        staff = principal_for(session, session.get(User, shared.world.staff.id))
        provider = session.get(type(shared.world.provider), shared.world.provider.id)
        make_entry(session, staff, provider, "no-rows-yet", access_modes=["api"])
        make_entry(session, staff, provider, "a-draft", access_modes=["api"], published=False)
        session.commit()
    shown = shared.client.get("/api/3/action/package_show", params={"id": "no-rows-yet"}).json()["result"]
    assert [r["datastore_active"] for r in shown["resources"] if r["format"] == "API"] == [False]
    listed = shared.client.get("/api/3/action/package_search", params={"q": "*:*", "rows": 100}).json()["result"]
    api = {p["name"]: [r["datastore_active"] for r in p["resources"] if r["format"] == "API"]
           for p in listed["results"]}
    assert api["firms"] == [True] and api["no-rows-yet"] == [False]
    for ref in ("no-rows-yet", "a-draft"):
        refused = search(shared, {"resource_id": ref})
        assert refused.status_code == 404 and refused.json()["error"]["__type"] == "Not Found Error"


def result(response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True and body["help"].endswith("help_show?name=datastore_search")
    return body["result"]


def test_the_result_has_ckans_shape(shared):
    got = result(search(shared, {"resource_id": "firms", "limit": 5, "offset": 5}))
    assert {"resource_id", "fields", "records", "total", "total_was_estimated", "limit", "offset", "_links",
            "next_page", "include_total", "records_format"} <= set(got)
    assert (got["limit"], got["offset"], got["total"]) == (5, 5, len(FIRMS))
    assert got["_links"]["start"] == f"{PATH}?resource_id=firms&limit=5"
    assert got["_links"]["next"] == f"{PATH}?resource_id=firms&limit=5&offset=10"
    assert got["next_page"] == f"{shared.settings.base_url.rstrip('/')}{PATH}?resource_id=firms&limit=5&offset=10"
    assert got["records"] == [expected_record(r) for r in FIRMS[5:10]]
    last = result(search(shared, {"resource_id": "firms", "limit": 5, "offset": 40}))
    assert len(last["records"]) == 5 and last["next_page"] is None


def test_following_links_serves_every_row_once(shared):
    params = {"resource_id": "firms", "limit": 7, "sort": '"所在区" desc,员工数', "filters": json.dumps({"limit": "x"})}
    link, got = f"{PATH}?{'&'.join(f'{k}={v}' for k, v in params.items())}", []
    for _ in range(20):
        page = result(shared.client.get(link))
        if not page["records"]:
            break
        got += page["records"]
        link = page["_links"]["next"]
    expected = sort_rows(kept(FIRMS, [("limit", "eq", "x")]), [("所在区", True), ("员工数", False)])
    assert [r["_id"] for r in got] == [FIRMS.index(r) + 1 for r in expected]


@pytest.mark.parametrize(("params", "conditions"), [
    ({"filters": {"员工数": 3}}, [("员工数", "eq", 3)]),
    ({"filters": {"注册资本": None}}, [("注册资本", "isnull", True)]),
    ({"filters": {"成立日期": ["2020-01-01", "2020-01-02"]}}, [("成立日期", "in", (dt.date(2020, 1, 1),
                                                                                dt.date(2020, 1, 2)))]),
    ({"q": "=1"}, [("备注", "contains", "=1")]),
    ({"q": {"企业名称": "企业01"}}, [("企业名称", "startswith", "企业01")]),
    ({"q": {"员工数": "9"}}, [("员工数", "eq", 9)]),
])
def test_filters_and_full_text(shared, params, conditions):
    for post in (False, True):
        body = {"resource_id": "firms", "limit": 100, **params}
        if not post:
            body = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in body.items()}
        got = result(search(shared, body, post=post))
        assert [r["_id"] for r in got["records"]] == [FIRMS.index(r) + 1 for r in kept(FIRMS, conditions)]
        assert got["total"] == len(kept(FIRMS, conditions))


def test_q_looks_in_every_text_column_ignoring_case(shared):
    got = result(search(shared, {"resource_id": "firms", "q": "PLAIN", "fields": "_id"}))
    assert [r["_id"] for r in got["records"]] == [i + 1 for i, r in enumerate(FIRMS) if r["备注"] == "plain"]


def test_fields_sort_formats_and_totals(shared):
    got = result(search(shared, {"resource_id": "firms", "fields": "员工数,企业名称", "sort": "_id desc", "limit": 3,
                                 "include_total": "false", "records_format": "lists"}))
    assert [f["id"] for f in got["fields"]] == ["员工数", "企业名称"] and "total" not in got
    assert got["records"] == [[r["员工数"], r["企业名称"]] for r in FIRMS[::-1][:3]]
    capped = result(search(shared, {"resource_id": "firms", "limit": 100_000}))
    assert capped["limit"] == shared.settings.api_max_page_rows and len(capped["records"]) == len(FIRMS)
    nothing = result(search(shared, {"resource_id": "firms", "limit": 0}))
    assert nothing["records"] == [] and nothing["total"] == len(FIRMS)
    by_id = result(search(shared, {"id": "firms", "limit": 1}))  # CKAN's old name of resource_id
    assert by_id["resource_id"] == "firms"


@pytest.mark.parametrize(("params", "field"), [
    ({}, "resource_id"),
    ({"filters": '{"税号": "1"}'}, "filters"),
    ({"filters": "{bad json"}, "filters"),
    ({"filters": "[" * 5000}, "filters"),
    ({"filters": '["a"]'}, "filters"),
    ({"filters": '{"员工数": "many"}'}, "filters"),
    ({"filters": '{"员工数": {"a": 1}}'}, "filters"),
    ({"q": '{"税号": "1"}'}, "q"),
    ({"fields": "企业名称,税号"}, "fields"),
    ({"sort": "税号 desc"}, "sort"),
    ({"sort": " " * 3000 + "x"}, "sort"),
    ({"limit": "ten"}, "limit"),
    ({"offset": "-1"}, "offset"),
    ({"include_total": "maybe"}, "include_total"),
    ({"records_format": "csv"}, "records_format"),
    ({"distinct": "true"}, "distinct"),
    ({"callback": "x"}, "__junk"),
])
def test_bad_parameters_are_ckan_validation_errors(shared, params, field):
    body = {"resource_id": "firms", **params} if field != "resource_id" else params
    response = search(shared, body)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["__type"] == "Validation Error" and field in error and isinstance(error[field], list)
    english = search(shared, body, **{"Accept-Language": "en"}).json()["error"]
    assert english[field] != error[field] or field == "__junk"


def test_malformed_json_bodies(shared):
    response = shared.client.post(PATH, content=b"[" * 5000, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["__type"] == "Bad Request"


def test_each_search_is_logged_with_the_bytes_sent(shared):
    response = search(shared, {"resource_id": "firms", "filters": '{"所在区": "渝中区"}', "limit": 4})
    with shared.session() as session:
        row = session.scalars(select(AccessLog).order_by(AccessLog.id.desc())).first()
    assert (row.channel, row.action, row.rows, row.complete) == ("ckan", "rows", len(response.json()["result"]
                                                                                   ["records"]), True)
    assert row.bytes == len(response.content) and row.sha256 == hashlib.sha256(response.content).hexdigest()
    assert ["resource_id", "firms"] in row.params["query"]


def test_conditional_data_needs_a_grant_and_the_grantee_as_caller(shared):
    refused = search(shared, {"resource_id": "roster"})
    assert refused.status_code == 403 and refused.json()["error"]["__type"] == "Authorization Error"
    with shared.session() as session:
        entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == "roster")).one()
        citizen = session.get(User, shared.world.citizen.id)
        do_create_grant(session, None, entry=entry, user=citizen, columns=["姓名", "工号"],
                        row_filter=[{"column": "所在区", "op": "eq", "value": "渝中区"}], modes=["api"],
                        valid_from=china_today(), valid_until=china_today() + dt.timedelta(days=7))
        _row, secret = do_create_token(session, principal_for(session, citizen), "ckan", None)
        session.commit()
    for header in ("X-CKAN-API-Key", "Authorization"):
        got = result(search(shared, {"resource_id": "roster"}, **{header: secret}))
        assert [f["id"] for f in got["fields"]] == ["_id", "姓名", "工号"]
        assert [(r["_id"], r["姓名"]) for r in got["records"]] == [(1, "张三"), (3, "王五")]
        assert all(len(r["工号"]) == 16 and r["工号"] not in ("A1", "A3") for r in got["records"])  # pseudonyms
    with shared.session() as session:
        row = session.scalars(select(AccessLog).order_by(AccessLog.id.desc())).first()
        assert row.grant_id is not None and row.user_id == shared.world.citizen.id and row.token_id is not None
    with TestClient(shared.app, follow_redirects=False) as browser:
        login(browser, "citizen")
        assert result(browser.get(PATH, params={"resource_id": "roster"}))["total"] == 2
    invalid = search(shared, {"resource_id": "roster"}, **{"X-CKAN-API-Key": "kf_bad_token"})
    assert invalid.status_code == 403 and invalid.json()["error"]["__type"] == "Authorization Error"


def test_rate_limits_answer_429_with_retry_after(shared):
    app = create_app(shared.settings.with_overrides(api_anonymous_rate_per_minute=1))
    with TestClient(app) as client:
        assert client.get(PATH, params={"resource_id": "firms"}).status_code == 200
        refused = client.get(PATH, params={"resource_id": "firms"})
    app.state.engine.dispose()
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["success"] is False and refused.json()["error"]["__type"] == "Rate Limit Error"


def test_where_open_data_needs_a_verified_identity(shared):
    app = create_app(shared.settings.with_overrides(jurisdiction="chongqing"))
    with TestClient(app, follow_redirects=False) as client:
        anonymous = client.get(PATH, params={"resource_id": "firms"})
        assert anonymous.status_code == 403 and anonymous.json()["error"]["__type"] == "Authorization Error"
        login(client, "other")  # verified
        assert client.get(PATH, params={"resource_id": "firms"}).status_code == 200
    app.state.engine.dispose()
