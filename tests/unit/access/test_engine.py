"""The engine over replicas: grant scopes (columns, rows, keyed pseudonyms), empty versions, and
replicas that do not match their version."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from kaifang.access.columns import ROW
from kaifang.access.cursor import unseal
from kaifang.access.downloads import DownloadRequest, open_download
from kaifang.access.engine import QueryEngine, ReplicaError
from kaifang.access.exports import Format
from kaifang.access.query import Condition, parse_aggregate, parse_rows
from kaifang.access.reads import count_rows, read_aggregate, read_rows
from kaifang.access.scope import Geo, grant_secret
from kaifang.ingest.desensitise import hmac_pads, pseudonym_value
from tests.unit.access.replicas import SECRET, engine_in, open_scope, write_version

SCHEMA = pa.schema([("证号", pa.string()), ("人数", pa.int64()), ("区", pa.string()), ("日期", pa.date32())])
ROWS = [("110105194912310021", 3, "渝中", dt.date(2020, 1, 1)), ("110105194912310048", 5, "江北", None),
        ("110105194912310064", None, "渝中", dt.date(2020, 1, 3)), ("110105194912310080", 9, None, None)]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[QueryEngine]:
    engine = engine_in(tmp_path)
    yield engine
    engine.close()


def grant_scope(engine: QueryEngine, ref, grant_id: str, row_filter=()):
    settings = engine.settings
    return open_scope(ref, SCHEMA, pseudonymised=frozenset({"证号", "人数"}), grant_id=grant_id,
                      pads=hmac_pads(grant_secret(settings, grant_id)), row_filter=row_filter)


def rows(engine, scope, *params):
    query = parse_rows(list(params), scope.by_name, default_limit=100, max_limit=1000)
    return read_rows(engine, SECRET, scope, query)


def test_a_grant_sees_keyed_pseudonyms_of_its_own(engine):
    ref = write_version(engine, SCHEMA, ROWS)
    first, second = grant_scope(engine, ref, "g1"), grant_scope(engine, ref, "g2")
    seen = rows(engine, first).records()
    key = grant_secret(engine.settings, "g1")
    assert [r["证号"] for r in seen] == [pseudonym_value(key, r[0]) for r in ROWS]
    assert [r["人数"] for r in seen] == [None if r[1] is None else pseudonym_value(key, str(r[1])) for r in ROWS]
    assert [r["区"] for r in seen] == [r[2] for r in ROWS]
    others = [r["证号"] for r in rows(engine, second).records()]
    assert not set(others) & {r["证号"] for r in seen}  # two recipients cannot join their copies
    wanted = seen[1]["证号"]
    assert rows(engine, first, ("证号", wanted)).records() == [seen[1]]
    assert rows(engine, second, ("证号", wanted)).records() == []


def test_a_grant_row_filter_limits_rows_counts_and_aggregates(engine):
    ref = write_version(engine, SCHEMA, ROWS)
    scope = grant_scope(engine, ref, "g1", row_filter=(Condition("区", "eq", "渝中"),))
    open_scope_ = open_scope(ref, SCHEMA)
    assert [r["区"] for r in rows(engine, scope).records()] == ["渝中", "渝中"]
    assert count_rows(engine, scope, ()) == 2 and count_rows(engine, open_scope_, ()) == 4  # cached apart
    query = parse_aggregate([("group_by", "区")], scope.by_name, default_limit=10, max_limit=10)
    assert read_aggregate(engine, scope, query).rows == [("渝中", 2)]
    # The source row number stays internal.
    assert ROW not in scope.by_name and ROW not in rows(engine, scope).records()[0]


def test_paging_a_grant_scope_sorted_by_a_pseudonym(engine):
    ref = write_version(engine, SCHEMA, ROWS)
    scope = grant_scope(engine, ref, "g1")
    got, token = [], None
    while True:
        params = [("sort", "-证号"), ("limit", "1")] + ([("next", token)] if token else [])
        query = parse_rows(params, scope.by_name, default_limit=100, max_limit=1000)
        page = read_rows(engine, SECRET, scope, query, unseal(SECRET, token) if token else None)
        got += [r["证号"] for r in page.records()]
        token = page.next_token
        if token is None:
            break
    assert got == sorted(got, reverse=True) and len(set(got)) == len(ROWS)


def test_a_version_without_rows(engine):
    ref = write_version(engine, SCHEMA, [])
    scope = open_scope(ref, SCHEMA)
    page = rows(engine, scope, ("sort", "-日期"), ("total", "true"), ("人数__gt", "1"))
    assert page.rows == [] and page.next_token is None and page.total == 0
    everything = parse_aggregate([("measures", "count,sum:人数")], scope.by_name, default_limit=10, max_limit=10)
    assert read_aggregate(engine, scope, everything).rows == [(0, None)]
    grouped = parse_aggregate([("group_by", "区")], scope.by_name, default_limit=10, max_limit=10)
    assert read_aggregate(engine, scope, grouped).rows == []


@pytest.mark.parametrize("fmt", list(Format))
def test_downloads_of_a_version_without_rows(engine, tmp_path, fmt):
    ref = write_version(engine, SCHEMA, [])
    scope = replace(open_scope(ref, SCHEMA), geo=Geo(lng="人数", lat="人数"))
    request = DownloadRequest(fmt, tuple(SCHEMA.names), (), ())
    download = open_download(engine, scope, request, tmp_path / "work")
    body = b"".join(download.chunks)
    assert download.counter.rows == 0
    if fmt is Format.CSV:
        assert body == "证号,人数,区,日期\r\n".encode()
    elif fmt is Format.JSON:
        assert body == b"[]"
    elif fmt is Format.GEOJSON:
        assert json.loads(body) == {"type": "FeatureCollection", "features": []}
    elif fmt is Format.PARQUET:
        table = pq.read_table(io.BytesIO(body))
        assert table.num_rows == 0 and table.schema.names == SCHEMA.names
    else:
        sheet = load_workbook(io.BytesIO(body), read_only=True).active
        assert [list(r) for r in sheet.iter_rows(values_only=True)] == [list(SCHEMA.names)]


def test_a_replica_that_does_not_match_its_version_is_not_served(engine):
    ref = write_version(engine, SCHEMA, ROWS)
    with pytest.raises(ReplicaError) as caught:
        engine.alias(replace(ref, rows=5))
    assert caught.value.status_code == 503
    assert not list(engine.folder.glob("*.duckdb"))  # nothing half-built is left behind


def test_replicas_are_rebuilt_when_missing(engine, tmp_path):
    ref = write_version(engine, SCHEMA, ROWS)
    engine.alias(ref)
    built = engine.replica_path(ref)
    assert built.exists()
    engine.close()
    built.unlink()
    again = engine_in(tmp_path)
    try:
        assert count_rows(again, open_scope(ref, SCHEMA), ()) == 4 and built.exists()
    finally:
        again.close()
