"""Downloads in every format, read back with the tools people open them with, compared with the
rows that were ingested; formula cells neutralised; the log row of each download holds the row
count, byte count and SHA-256 of exactly the bytes received, and a broken-off one stays incomplete."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from starlette.requests import ClientDisconnect

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

FIRMS = records(firm_rows(30))
STOPS_HEADER = ["站名", "lng", "lat", "线路数"]
STOPS = [["解放碑", 106.577, 29.557, 12], ["𠮷祥路", 106.5, 29.6, None], ["朝天门", None, None, 3]]
AREAS_HEADER = ["区名", "范围"]
AREAS = [["渝中区", "POLYGON ((106.5 29.5, 106.6 29.5, 106.6 29.6, 106.5 29.5))"], ["江北区", "POINT (106.57 29.6)"],
         ["待定", None]]
BIG = [[i, f"第{i}行的说明文字，足够长以便让下载分成好几块传输。" * 2] for i in range(16_000)]
NEUTRAL = {"=1+2": "'=1+2", "@SUM(A1)": "'@SUM(A1)", "-2+3": "'-2+3", "-12.5": "-12.5"}


@pytest.fixture(scope="module")
def shared(_db_template, tmp_path_factory) -> Iterator[Shared]:
    datasets = {
        "firms": {"header": FIRMS_HEADER, "rows": [list(r.values()) for r in FIRMS], "types": FIRMS_TYPES},
        "stops": {"header": STOPS_HEADER, "rows": STOPS, "types": {"lng": "decimal", "lat": "decimal",
                                                                   "线路数": "integer"}},
        "areas": {"header": AREAS_HEADER, "rows": AREAS, "types": {"范围": "geometry"}},
        "big": {"header": ["编号", "说明"], "rows": BIG, "types": {"编号": "integer"}},
    }
    with shared_world(_db_template, tmp_path_factory.mktemp("downloads"), datasets) as world:
        yield world


def download(shared: Shared, name: str, fmt: str, **params: str) -> httpx.Response:
    response = shared.client.get(f"/api/v1/datasets/{name}/download.{fmt}", params=params)
    assert response.status_code == 200, response.text
    return response


def neutral(value: Any) -> Any:
    return NEUTRAL.get(value, value) if isinstance(value, str) else value


def csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, float):
        return f"{value:g}" if value != int(value) else str(int(value))
    return str(neutral(value))


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_in_utf8_with_neutralised_formulas(shared):
    response = download(shared, "firms", "csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="firms-v1.csv"'
    assert not response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8")
    assert text.count("\r\n") == len(FIRMS) + 1 and "\n" not in text.replace("\r\n", "")
    table = read_csv(text)
    assert table[0] == FIRMS_HEADER
    assert table[1:] == [[csv_text(r[h]) for h in FIRMS_HEADER] for r in FIRMS]
    assert {row[-1] for row in table[1:]} >= {"'=1+2", "'@SUM(A1)", "'-2+3", "-12.5"}


def test_csv_with_a_byte_order_mark(shared):
    plain = download(shared, "firms", "csv").content
    marked = download(shared, "firms", "csv", bom="true").content
    assert marked == b"\xef\xbb\xbf" + plain


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_csv_in_chinese_encodings(shared, encoding):
    utf8 = download(shared, "stops", "csv").content.decode("utf-8")
    response = download(shared, "stops", "csv", encoding=encoding)
    assert response.headers["content-type"] == f"text/csv; charset={encoding}"
    decoded = response.content.decode(encoding)
    if encoding == "gb18030":
        assert decoded == utf8  # GB18030 holds every character
    else:
        assert decoded == utf8.replace("𠮷", "?")  # GBK has no 𠮷: replaced, the rest intact
    assert read_csv(decoded)[1][0] == "解放碑"


def test_xlsx_read_back_with_openpyxl(shared):
    response = download(shared, "firms", "xlsx")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    width = len(FIRMS_HEADER)  # a read-only sheet leaves out empty cells at the end of a row
    table = [[*row, *[None] * (width - len(row))] for row in sheet.iter_rows(values_only=True)]
    assert table[0] == FIRMS_HEADER
    def cell(value: Any) -> Any:  # a spreadsheet keeps dates as date-times
        return dt.datetime.combine(value, dt.time()) if type(value) is dt.date else neutral(value)
    assert table[1:] == [[cell(r[h]) for h in FIRMS_HEADER] for r in FIRMS]


def test_json_download(shared):
    body = download(shared, "firms", "json").json()
    assert body == [{h: as_json(neutral(r[h])) for h in FIRMS_HEADER} for r in FIRMS]


def test_parquet_read_back_with_pyarrow(shared):
    table = pq.read_table(io.BytesIO(download(shared, "firms", "parquet").content))
    assert table.schema.names == FIRMS_HEADER
    assert [str(t) for t in table.schema.types] == ["string", "string", "double", "int64", "date32[day]",
                                                    "timestamp[us]", "bool", "string", "string"]
    assert table.to_pylist() == [{h: neutral(r[h]) for h in FIRMS_HEADER} for r in FIRMS]


def test_geojson_from_longitude_and_latitude(shared):
    assert "geojson" in shared.client.get("/api/v1/datasets/stops/fields").json()["downloads"]
    response = download(shared, "stops", "geojson")
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["geometry"] for f in body["features"]] == [
        {"type": "Point", "coordinates": [106.577, 29.557]}, {"type": "Point", "coordinates": [106.5, 29.6]}, None]
    assert [f["properties"] for f in body["features"]] == [
        {"站名": "解放碑", "线路数": 12}, {"站名": "𠮷祥路", "线路数": None}, {"站名": "朝天门", "线路数": 3}]


def test_geojson_from_a_wkt_geometry_column(shared):
    body = download(shared, "areas", "geojson").json()
    assert [f["geometry"] for f in body["features"]] == [
        {"type": "Polygon", "coordinates": [[[106.5, 29.5], [106.6, 29.5], [106.6, 29.6], [106.5, 29.5]]]},
        {"type": "Point", "coordinates": [106.57, 29.6]}, None]
    assert [f["properties"] for f in body["features"]] == [{"区名": "渝中区"}, {"区名": "江北区"}, {"区名": "待定"}]


def test_filtered_sorted_and_column_limited(shared):
    params = {"fields": "企业名称,注册资本", "sort": "-注册资本", "所在区__in": "渝中区,江北区", "员工数__gte": "2"}
    response = download(shared, "firms", "csv", **params)
    assert response.headers["content-disposition"] == 'attachment; filename="firms-v1-extract.csv"'
    expected = sort_rows(kept(FIRMS, [("所在区", "in", ("渝中区", "江北区")), ("员工数", "gte", 2)]), [("注册资本", True)])
    assert read_csv(response.content.decode()) == [["企业名称", "注册资本"]] + [
        [r["企业名称"], csv_text(r["注册资本"])] for r in expected]
    assert len(download(shared, "firms", "json", **params).json()) == len(expected)


def _log(shared: Shared, log_id: int) -> AccessLog:
    with shared.session() as session:
        row = session.get(AccessLog, log_id)
        assert row is not None
        return row


@pytest.mark.parametrize(("fmt", "params"), [("csv", {}), ("csv", {"encoding": "gb18030", "员工数__lt": "5"}),
                                             ("xlsx", {}), ("json", {"fields": "企业名称"}), ("parquet", {})])
def test_each_download_is_logged_with_the_bytes_received(shared, fmt, params):
    response = download(shared, "firms", fmt, **params)
    row = _log(shared, int(response.headers["X-Kaifang-Access-Log"]))
    assert (row.channel, row.action, row.format, row.complete) == ("download", "download", fmt, True)
    assert row.bytes == len(response.content)
    assert row.sha256 == hashlib.sha256(response.content).hexdigest()
    expected = kept(FIRMS, [("员工数", "lt", 5)]) if "员工数__lt" in params else FIRMS
    assert row.rows == len(expected) and row.entry_id == shared.entry_ids["firms"]
    assert row.params["encoding"] == params.get("encoding", "utf-8")
    assert row.params["fields"] == (params["fields"].split(",") if "fields" in params else FIRMS_HEADER)


def test_a_large_download_streams_and_is_logged(shared):
    response = download(shared, "big", "csv")
    assert len(response.content) > 2 * (1 << 20)  # more than two chunks
    row = _log(shared, int(response.headers["X-Kaifang-Access-Log"]))
    assert (row.rows, row.bytes, row.complete) == (len(BIG), len(response.content), True)
    assert row.sha256 == hashlib.sha256(response.content).hexdigest()


def _asgi_get(app, path: str, break_after: int, then: Callable[[list[dict[str, Any]]], Any]) -> Any:
    """A GET straight into the app, whose client goes away after ``break_after`` body chunks: the
    server's ``send`` then fails with OSError, as uvicorn's does (ASGI 2.4). ``then`` looks at the
    outcome at once, while the server still runs: what only garbage collection would clean up
    (at the latest when the event loop closes) is not cleaned up yet."""
    sent: list[dict[str, Any]] = []
    outcome: list[Any] = []
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
             "root_path": "", "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 50000),
             "server": ("testserver", 80)}

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await anyio.sleep_forever()
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and len(sent) > break_after + 1:
            raise OSError("connection reset by peer")

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except (ClientDisconnect, OSError) as exc:
            outcome.append(then(sent))
            del exc

    anyio.run(run)
    assert outcome, "the client's going away was not noticed"
    return outcome[0]


def test_a_broken_off_download_stays_incomplete(shared):
    full = download(shared, "big", "json").content

    def logged(sent: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], AccessLog]:
        return sent, _log(shared, int(dict(sent[0]["headers"])[b"x-kaifang-access-log"]))

    sent, row = _asgi_get(shared.app, "/api/v1/datasets/big/download.json", 0, logged)
    start, *bodies = sent
    handed_over = b"".join(m["body"] for m in bodies)  # and never received
    assert start["status"] == 200 and len(bodies) == 1 and 0 < len(handed_over) < len(full)
    assert row.complete is False  # completed at once, not when the stream is garbage-collected
    assert row.bytes == len(handed_over) and row.sha256 == hashlib.sha256(handed_over).hexdigest()
    assert 0 < row.rows <= len(BIG)  # rows read from the engine, not all of them received


def test_download_log_rows_are_listed_newest_first(shared):
    first = download(shared, "stops", "csv")
    second = download(shared, "stops", "json")
    with shared.session() as session:
        newest = session.scalars(select(AccessLog).where(AccessLog.channel == "download")
                                 .order_by(AccessLog.id.desc()).limit(2)).all()
    assert [r.sha256 for r in newest] == [hashlib.sha256(second.content).hexdigest(),
                                          hashlib.sha256(first.content).hexdigest()]
