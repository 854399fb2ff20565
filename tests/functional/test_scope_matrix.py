"""The scope of a grant holds on every path the data leaves by.

One conditional dataset, grants limited in columns (no resident ID), rows (one district), modes
and period; every path — the rows API (JSON and CSV), fields, aggregates, downloads in every
format, CKAN's datastore_search, the preview page and the chart data — is checked for:

- columns outside the grant never appear, identifiers only as the grant's own pseudonyms;
- rows outside the filter never appear (and those inside do);
- a mode not granted is 403; before or after the period 403; suspended, revoked, another user
  and anonymous 403; a non-open dataset 404 for everyone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kaifang.access.grants import do_revoke_grant, do_suspend_grant
from kaifang.app import create_app
from kaifang.auth.actions import do_create_token
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import CHINA_TZ, china_today
from kaifang.datasets.queries import pseudonym_secret
from kaifang.db import make_engine, make_session_factory
from kaifang.ingest import pseudonym_value
from tests.functional.data_world import HIGH_LIMITS, module_settings
from tests.functional.test_routes_declare_access import effective_routes
from tests.unit.access.grant_helpers import grant_for, grantee, publish_residents, resident_rows
from tests.unit.access.helpers import make_data_world, publish_entry

NAME, SECRET = "residents", "secret-registry"
GRANTED = ["姓名", "手机号", "所在区", "年龄"]
ROW_FILTER = [{"column": "所在区", "op": "eq", "value": "海州区"}]
ROWS = resident_rows(40)
INSIDE = [r for r in ROWS if r[3] == "海州区"]
OUTSIDE = [r for r in ROWS if r[3] != "海州区"]


@dataclass(frozen=True)
class DataPath:
    name: str
    route: str
    """The route as the app declares it (to skip a cell whose page is not built yet)."""
    url: Callable[[str], str]
    kind: str
    """How the body reads: json, csv, xlsx, parquet, html, ckan."""
    mode: str
    """The grant mode that lets it through: api, download, or either (previews and charts)."""
    has_rows: bool = True


PATHS = [
    DataPath("rows", "/api/v1/datasets/{name}/rows", lambda n: f"/api/v1/datasets/{n}/rows?limit=1000", "json", "api"),
    DataPath("rows-csv", "/api/v1/datasets/{name}/rows", lambda n: f"/api/v1/datasets/{n}/rows?format=csv&limit=1000",
             "csv", "api"),
    DataPath("fields", "/api/v1/datasets/{name}/fields", lambda n: f"/api/v1/datasets/{n}/fields", "json", "api",
             has_rows=False),
    DataPath("aggregate", "/api/v1/datasets/{name}/aggregate",
             lambda n: f"/api/v1/datasets/{n}/aggregate?group_by=姓名,手机号&measures=count,sum:年龄", "json", "api"),
    *[DataPath(f"download-{fmt}", "/api/v1/datasets/{name}/download.{fmt}",
               lambda n, fmt=fmt: f"/api/v1/datasets/{n}/download.{fmt}", fmt, "download")
      for fmt in ("csv", "xlsx", "json", "parquet")],
    DataPath("ckan-datastore", "/api/3/action/datastore_search",
             lambda n: f"/api/3/action/datastore_search?resource_id={n}&limit=1000", "ckan", "api"),
    DataPath("preview", "/datasets/{name}/preview", lambda n: f"/datasets/{n}/preview?limit=100", "html", "either"),
    DataPath("chart-data", "/datasets/{name}/chart-data", lambda n: f"/datasets/{n}/chart-data?group_by=姓名",
             "json", "either"),
]
IDS = [p.name for p in PATHS]


@dataclass
class Matrix:
    client: TestClient
    tokens: dict[str, str]
    routes: set[str]
    grant_days: tuple[dt.date, dt.date]
    version_pseudonyms: list[str]

    def get(self, path: DataPath, who: str | None, name: str = NAME) -> Any:
        if path.route not in self.routes:
            pytest.skip(f"{path.route} is not built yet: switch this cell on when it is")
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return self.client.get(path.url(name), headers=headers)


def _token(session: Session, who: Principal) -> str:
    _row, secret = do_create_token(session, who, "matrix", None)
    session.commit()
    return secret


@pytest.fixture(scope="module")
def matrix(_db_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Matrix]:
    folder = tmp_path_factory.mktemp("scope-matrix")
    with module_settings(_db_template, folder, access_log_flush_seconds=0, **HIGH_LIMITS) as settings:
        engine = make_engine(settings.database_url)
        today = china_today()
        days = (today - dt.timedelta(days=1), today + dt.timedelta(days=30))
        try:
            with make_session_factory(engine)() as session:
                world = make_data_world(session, settings)
                entry = publish_residents(session, settings, world, NAME, n=len(ROWS))
                publish_entry(session, settings, world, SECRET, ["姓名", "所在区"], [["甲", "海州区"]],
                              open_type="non_open")
                people = {name: grantee(session, settings, name) for name in
                          ("holder", "api_only", "download_only", "suspended", "revoked", "nobody")}
                scoped = {"columns": GRANTED, "row_filter": ROW_FILTER, "valid_from": days[0], "valid_until": days[1]}
                modes = {"api_only": ["api"], "download_only": ["download"]}
                grants = {name: grant_for(session, world, entry, people[name], modes=modes.get(name, ["api", "download"]),
                                          **scoped) for name in people if name != "nobody"}
                do_suspend_grant(session, world.staff, grants["suspended"], "违反协议第五条")
                do_revoke_grant(session, world.staff, grants["revoked"], "严重违约")
                session.commit()
                tokens = {name: _token(session, who) for name, who in people.items()}
                tokens["staff"] = _token(session, world.staff)
                secret = pseudonym_secret(settings, entry.id)
                stored = [pseudonym_value(secret, r[1]) for r in ROWS]
        finally:
            engine.dispose()
        app = create_app(settings)
        try:
            with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
                routes = {path for path, _methods, _dependant in effective_routes(app)}
                yield Matrix(client, tokens, routes, days, stored)
        finally:
            app.state.engine.dispose()


# ---- reading a body as text -------------------------------------------------------------------

def body_text(path: DataPath, response: Any) -> str:
    if path.kind == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        return "\n".join(",".join("" if v is None else str(v) for v in row)
                         for sheet in book.worksheets for row in sheet.iter_rows(values_only=True))
    if path.kind == "parquet":
        table = pq.read_table(io.BytesIO(response.content))
        return json.dumps({"columns": table.column_names, "rows": table.to_pylist()}, ensure_ascii=False, default=str)
    if path.kind in ("json", "ckan"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode("utf-8-sig")


def _refused(path: DataPath, response: Any, status: int, words: str = "") -> None:
    assert response.status_code == status, (path.name, response.status_code, response.text[:300])
    if path.kind == "ckan":
        expected = {403: "Authorization Error", 404: "Not Found Error"}[status]
        assert response.json()["error"]["__type"] == expected
    if words:
        assert words in response.text, (path.name, response.text[:300])


# ---- the cells --------------------------------------------------------------------------------

@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_only_the_granted_columns_and_rows_leave(matrix: Matrix, path: DataPath):
    response = matrix.get(path, "holder")
    assert response.status_code == 200, (path.name, response.text[:300])
    text = body_text(path, response)
    raw = [r[2] for r in ROWS] + [r[1] for r in ROWS] + matrix.version_pseudonyms
    assert not [value for value in raw if value in text], "a resident ID, mobile or stored pseudonym leaked"
    if path.kind != "html":  # the page around the table names the dataset's data items
        assert "身份证号" not in text
    else:
        assert ">身份证号<" not in text
    if path.has_rows:
        assert not [r[0] for r in OUTSIDE if r[0] in text], "a row outside the grant's filter leaked"
        assert all(r[0] in text for r in INSIDE), "a row inside the filter is missing"
    else:
        assert [f["name"] for f in response.json()["fields"]] == GRANTED


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_a_mode_not_granted_is_refused(matrix: Matrix, path: DataPath):
    for who, mode in (("api_only", "api"), ("download_only", "download")):
        response = matrix.get(path, who)
        if path.mode in (mode, "either"):
            assert response.status_code == 200, (path.name, who, response.text[:300])
        else:
            _refused(path, response, 403)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_before_and_after_the_period_is_refused(matrix: Matrix, path: DataPath):
    start, end = matrix.grant_days
    for day, words in ((start - dt.timedelta(days=3), "has not started yet"), (end + dt.timedelta(days=2), "expired")):
        noon = dt.datetime(day.year, day.month, day.day, 12, tzinfo=CHINA_TZ)
        with time_machine.travel(noon, tick=False):
            response = matrix.client.get(path.url(NAME) + ("&" if "?" in path.url(NAME) else "?") + "lang=en",
                                         headers={"Authorization": f"Bearer {matrix.tokens['holder']}"})
            if path.route not in matrix.routes:
                pytest.skip(f"{path.route} is not built yet: switch this cell on when it is")
            _refused(path, response, 403, words)
    for day in (start, end):  # both ends are included
        with time_machine.travel(dt.datetime(day.year, day.month, day.day, 12, tzinfo=CHINA_TZ), tick=False):
            assert matrix.get(path, "holder").status_code == 200, (path.name, day)


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_suspended_revoked_other_users_and_anonymous_are_refused(matrix: Matrix, path: DataPath):
    for who in ("suspended", "revoked", "nobody", None):
        _refused(path, matrix.get(path, who), 403)
    assert "违反协议第五条" in matrix.get(path, "suspended").text
    assert "严重违约" in matrix.get(path, "revoked").text


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_a_non_open_dataset_is_not_found_for_anyone(matrix: Matrix, path: DataPath):
    for who in ("holder", "staff", "nobody", None):
        _refused(path, matrix.get(path, who, SECRET), 404)


def test_asking_for_more_than_the_grant_gets_nothing_more(matrix: Matrix):
    auth = {"Authorization": f"Bearer {matrix.tokens['holder']}"}
    base = f"/api/v1/datasets/{NAME}"
    for url in (f"{base}/rows?fields=身份证号", f"{base}/rows?身份证号__eq=11010519491231002X",
                f"{base}/rows?sort=身份证号", f"{base}/aggregate?group_by=身份证号",
                f"{base}/download.csv?fields=姓名,身份证号"):
        response = matrix.client.get(url, headers=auth)
        assert response.status_code == 400, url
        assert "身份证号" in response.json()["error"]["message"], url
    escaped = matrix.client.get(f"{base}/rows?所在区=连云区", headers=auth).json()
    assert escaped["rows"] == []
    counted = matrix.client.get(f"{base}/aggregate?group_by=所在区", headers=auth).json()
    assert counted["rows"] == [{"所在区": "海州区", "count": len(INSIDE)}]


def test_the_identifiers_are_this_grants_own_pseudonyms(matrix: Matrix):
    def mobiles(who: str) -> list[str]:
        body = matrix.client.get(f"/api/v1/datasets/{NAME}/rows?fields=手机号&limit=1000",
                                 headers={"Authorization": f"Bearer {matrix.tokens[who]}"}).json()
        return [r["手机号"] for r in body["rows"]]

    holder, other = mobiles("holder"), mobiles("api_only")
    assert len(holder) == len(INSIDE) and all(len(v) == 16 for v in holder)
    assert not set(holder) & set(other)  # two grantees cannot join their copies

