"""Filters, sorts, keyset pages and aggregates of generated tables, checked against a plain Python
computation of what they mean. Empty values are everywhere, ties are frequent, and the column
names need quoting (a space, a double quote, Chinese, a reserved parameter name)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kaifang.access.columns import ColumnKind
from kaifang.access.cursor import unseal
from kaifang.access.engine import QueryEngine
from kaifang.access.query import SortKey, parse_aggregate, parse_rows
from kaifang.access.reads import count_rows, read_aggregate, read_rows
from kaifang.access.scope import Scope
from tests.unit.access.replicas import SECRET, engine_in, open_scope, write_version

SCHEMA = pa.schema([
    ("id", pa.int64()), ("名称", pa.string()), ("amount x", pa.float64()), ('say "hi"', pa.int64()),
    ("day", pa.date32()), ("at", pa.timestamp("us")), ("flag", pa.bool_()), ("limit", pa.string()),
])
TEXTS = ["", "a", "ab", "b", "甲", "甲乙", 'q"u,ote', "x y", "=1+2", "A"]
T0 = dt.datetime(2020, 1, 1)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "名称": st.sampled_from(TEXTS),
    "amount x": st.one_of(st.sampled_from([0.0, -0.0, -1.5, 2.25, 1e10]),
                          st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)),
    'say "hi"': st.one_of(st.integers(-3, 3), st.integers(-(2**62), 2**62)),
    "day": st.dates(dt.date(2019, 12, 30), dt.date(2020, 1, 3)),
    "at": st.one_of(st.sampled_from([T0, T0 + dt.timedelta(seconds=1)]),
                    st.datetimes(T0, T0 + dt.timedelta(seconds=3))),
    "flag": st.booleans(),
    "limit": st.sampled_from(TEXTS[:4]),
}
OPS = {
    ColumnKind.TEXT: ["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "startswith", "isnull"],
    ColumnKind.INTEGER: ["eq", "ne", "lt", "lte", "gt", "gte", "in", "isnull"],
    ColumnKind.BOOLEAN: ["eq", "ne", "in", "isnull"],
}
RUN = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QueryEngine]:
    engine = engine_in(Path(tmp_path_factory.mktemp("engine")))
    yield engine
    engine.close()


def _cell(name: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), VALUES[name])


ROWS = st.lists(st.tuples(*(_cell(name) for name in SCHEMA.names[1:])), max_size=30)


def table(engine: QueryEngine, rows: list[tuple[Any, ...]]) -> tuple[Scope, list[dict[str, Any]]]:
    full = [(i, *row) for i, row in enumerate(rows)]
    scope = open_scope(write_version(engine, SCHEMA, full), SCHEMA)
    return scope, [dict(zip(SCHEMA.names, row, strict=True)) for row in full]


# ---- what the parameters mean, in Python --------------------------------------------------------

def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def holds(value: Any, op: str, target: Any) -> bool:
    if op == "isnull":
        return (value is None) == target
    if op == "ne":
        return value is None or value != target  # empty values differ from any value
    if value is None:
        return False
    tests: dict[str, Callable[[Any, Any], bool]] = {
        "eq": lambda v, t: v == t, "lt": lambda v, t: v < t, "lte": lambda v, t: v <= t,
        "gt": lambda v, t: v > t, "gte": lambda v, t: v >= t, "in": lambda v, t: v in t,
        "contains": lambda v, t: t in v, "startswith": lambda v, t: v.startswith(t)}
    return tests[op](value, target)


def before(sort: tuple[SortKey, ...]) -> Callable[[dict[str, Any], dict[str, Any]], int]:
    """Rows in the order asked for, empty values last either way, then in file order."""
    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for key in sort:
            x, y = a[key.column], b[key.column]
            if x is None or y is None:
                if (x is None) != (y is None):
                    return 1 if x is None else -1
                continue
            if x != y:
                return (-1 if x < y else 1) * (-1 if key.descending else 1)
        return a["id"] - b["id"]
    return compare


@st.composite
def filters(draw: st.DrawFn, records: list[dict[str, Any]], scope: Scope) -> list[tuple[str, str, str, Any]]:
    """(parameter, text, operator, typed target) for up to three filters."""
    out = []
    for _ in range(draw(st.integers(0, 3))):
        column = scope.by_name[draw(st.sampled_from(SCHEMA.names[1:]))]
        kind = column.kind if column.kind in OPS else ColumnKind.INTEGER
        op = draw(st.sampled_from(OPS[kind]))
        seen = [r[column.name] for r in records if r[column.name] is not None]
        pick = st.sampled_from(seen) | VALUES[column.name] if seen else VALUES[column.name]
        if op == "isnull":
            target: Any = draw(st.booleans())
            text = as_text(target)
        elif op == "in":
            target = draw(st.lists(pick, min_size=1, max_size=3))
            json_list = draw(st.booleans()) or any("," in as_text(v) for v in target)
            text = json.dumps([as_text(v) for v in target], ensure_ascii=False) if json_list \
                else ",".join(as_text(v) for v in target)
        else:
            target = draw(pick.filter(lambda v: v != "") if op in ("contains", "startswith") else pick)
            text = as_text(target)
        key = column.name if op == "eq" and draw(st.booleans()) and column.name != "limit" \
            else f"{column.name}__{op}"
        out.append((key, text, op, target))
    return out


@st.composite
def sorts(draw: st.DrawFn) -> list[tuple[str, bool]]:
    names = draw(st.lists(st.sampled_from(SCHEMA.names), unique=True, max_size=3))
    return [(name, draw(st.booleans())) for name in names]


def _sort_text(keys: list[tuple[str, bool]]) -> str:
    return ",".join(("-" if desc else "") + name for name, desc in keys)


def _expected(records: list[dict[str, Any]], conds: list[tuple[str, str, str, Any]],
              scope: Scope) -> list[dict[str, Any]]:
    out = []
    for record in records:
        ok = True
        for key, _text, op, target in conds:
            name = key.rpartition("__")[0] if "__" in key and key not in scope.by_name else key
            typed = tuple(target) if op == "in" else target
            ok = ok and holds(record[name], op, typed)
        if ok:
            out.append(record)
    return out


# ---- properties -----------------------------------------------------------------------------------

def read_all(engine: QueryEngine, scope: Scope, params: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], int]:
    """Every page, following ``next``, and the total reported on the first one."""
    got: list[dict[str, Any]] = []
    token, total = None, -1
    for _ in range(100):
        page_params = params + ([("next", token)] if token else [])
        query = parse_rows(page_params, scope.by_name, default_limit=100, max_limit=1000)
        page = read_rows(engine, SECRET, scope, query, unseal(SECRET, token) if token else None)
        if token is None:
            total = page.total if page.total is not None else -1
        got += page.records()
        token = page.next_token
        if token is None:
            return got, total
    raise AssertionError("paging did not end")


@RUN
@given(rows=ROWS, data=st.data())
def test_rows_filters_sort_and_keyset_pages(engine: QueryEngine, rows, data):
    scope, records = table(engine, rows)
    conds = data.draw(filters(records, scope))
    keys = data.draw(sorts())
    limit = data.draw(st.integers(1, 7))
    fields = data.draw(st.none() | st.lists(st.sampled_from(SCHEMA.names), min_size=1, unique=True))
    params = [(k, t) for k, t, _op, _v in conds] + [("limit", str(limit)), ("total", "true")]
    if keys:
        params.append(("sort", _sort_text(keys)))
    if fields:
        params.append(("fields", ",".join(fields)))

    got, total = read_all(engine, scope, params)

    expected = sorted(_expected(records, conds, scope),
                      key=functools.cmp_to_key(before(tuple(SortKey(n, d) for n, d in keys))))
    shown = fields or SCHEMA.names
    assert got == [{name: record[name] for name in shown} for record in expected]
    assert total == len(expected)
    if "id" in shown:  # keyset paging: every row once
        assert len({r["id"] for r in got}) == len(got)


MEASURES = ["count", "sum:amount x", 'sum:say "hi"', "avg:amount x", "min:day", "max:at", "min:名称", 'max:say "hi"']


def _measure(function: str, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if function == "count":
        return len(values)
    if not present:
        return None
    return {"sum": sum, "min": min, "max": max, "avg": lambda v: sum(v) / len(v)}[function](present)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == pytest.approx(b, rel=1e-9, abs=1e-6)
    return bool(a == b)


@RUN
@given(rows=ROWS, data=st.data())
def test_aggregates_match_a_python_computation(engine: QueryEngine, rows, data):
    scope, records = table(engine, rows)
    conds = data.draw(filters(records, scope))
    group_by = data.draw(st.lists(st.sampled_from(["名称", "flag", "day", 'say "hi"']), unique=True, max_size=2))
    measures = data.draw(st.lists(st.sampled_from(MEASURES), min_size=1, max_size=3, unique=True))
    limit = data.draw(st.integers(1, 8))
    params = [(k, t) for k, t, _op, _v in conds] + [("measures", ",".join(measures)), ("limit", str(limit))]
    if group_by:
        params.append(("group_by", ",".join(group_by)))
    query = parse_aggregate(params, scope.by_name, default_limit=100, max_limit=100)

    page = read_aggregate(engine, scope, query)

    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for record in _expected(records, conds, scope):
        groups.setdefault(tuple(record[g] for g in group_by), []).append(record)
    if not group_by:
        groups.setdefault((), [])
    ordered = sorted(groups, key=functools.cmp_to_key(
        lambda a, b: before(tuple(SortKey(g) for g in group_by))({**dict(zip(group_by, a)), "id": 0},
                                                                 {**dict(zip(group_by, b)), "id": 0})))
    assert page.truncated == (len(ordered) > limit)
    assert [row[:len(group_by)] for row in page.rows] == ordered[:limit]
    for row, key in zip(page.rows, ordered, strict=False):
        for value, label in zip(row[len(group_by):], measures, strict=True):
            function, _sep, column = label.partition(":")
            assert _close(value, _measure(function, [r[column] if column else 1 for r in groups[key]])), label


@RUN
@given(rows=ROWS.filter(len), data=st.data())
def test_sorting_by_a_measure(engine: QueryEngine, rows, data):
    scope, records = table(engine, rows)
    descending = data.draw(st.booleans())
    params = [("group_by", "名称"), ("measures", "count,sum:amount x"),
              ("sort", ("-" if descending else "") + "sum:amount x")]
    page = read_aggregate(engine, scope, parse_aggregate(params, scope.by_name, default_limit=100, max_limit=100))
    sums = [row[2] for row in page.rows]
    present = [s for s in sums if s is not None]
    assert present == sorted(present, reverse=descending)
    assert sums[len(present):] == [None] * (len(sums) - len(present))  # groups without a sum come last
    assert sum(row[1] for row in page.rows) == len(records)


@settings(max_examples=25, deadline=None)
@given(rows=ROWS, data=st.data())
def test_totals_equal_the_rows_served(engine: QueryEngine, rows, data):
    scope, records = table(engine, rows)
    conds = data.draw(filters(records, scope))
    query = parse_rows([(k, t) for k, t, _o, _v in conds], scope.by_name, default_limit=100, max_limit=1000)
    assert count_rows(engine, scope, query.where) == len(_expected(records, conds, scope))
    assert count_rows(engine, scope, query.where) == len(_expected(records, conds, scope))  # cached: the same
