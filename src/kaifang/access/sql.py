"""Checked query specs compiled into DuckDB SQL over a version's replica.

No text a caller wrote reaches the engine as SQL: column names come from the version's schema and
are quoted, values are bound as parameters. Every query reads the *scoped* view of the replica —
the grant's columns and rows, identifiers replaced by the grant's keyed pseudonyms — so a filter,
a sort, a count or an aggregate can only ever see what the caller may see.
"""

# ruff: noqa: S608 - SQL text is built from quote()-escaped names; values are bound parameters
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kaifang.access.columns import ROW, Column
from kaifang.access.query import AggregateQuery, AnyContains, Condition, Filter, Measure, SortKey

TABLE = "t"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Sql:
    """SQL text with its ``?`` parameters in order."""

    params: list[Any] = field(default_factory=list)

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"


@dataclass(frozen=True)
class ScopeSpec:
    """The part of a scope the SQL needs (no ORM objects: the engine runs off request threads)."""

    alias: str
    columns: tuple[Column, ...]
    row_filter: tuple[Condition, ...] = ()
    # HMAC-SHA256 inner and outer pads of the grant's pseudonym key (None: no pseudonyms).
    pads: tuple[bytes, bytes] | None = None


def pseudonym_sql(column: str, sql: Sql, pads: tuple[bytes, bytes]) -> str:
    """HMAC-SHA256(key, value) as 16 hex characters, computed by the engine (RFC 2104 with the
    pads bound as parameters, so the key never appears in SQL text)."""
    # Parameters are positional: the outer pad is bound first because its ``?`` comes first.
    outer = sql.bind(pads[1])
    inner = f"unhex(sha256(CAST({sql.bind(pads[0])} AS BLOB) || encode(CAST({column} AS VARCHAR))))"
    return f"left(sha256(CAST({outer} AS BLOB) || {inner}), 16)"


def condition_sql(cond: Condition, sql: Sql) -> str:
    col = quote(cond.column)
    op, value = cond.op, cond.value
    if op == "isnull":
        return f"{col} IS NULL" if value else f"{col} IS NOT NULL"
    if op == "eq":
        return f"{col} = {sql.bind(value)}"
    if op == "ne":
        # Rows without a value differ from any value: they are kept.
        return f"{col} IS DISTINCT FROM {sql.bind(value)}"
    if op in ("lt", "lte", "gt", "gte"):
        symbol = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}[op]
        return f"{col} {symbol} {sql.bind(value)}"
    if op == "in":
        return f"{col} IN ({', '.join(sql.bind(v) for v in value)})"
    if op == "contains":
        return f"contains({col}, {sql.bind(value)})"
    if op == "startswith":
        return f"starts_with({col}, {sql.bind(value)})"
    raise ValueError(f"unknown operator {op!r}")


def any_contains_sql(cond: AnyContains, sql: Sql) -> str:
    found = [f"contains(lower(CAST({quote(c)} AS VARCHAR)), lower({sql.bind(cond.text)}))" for c in cond.columns]
    return " OR ".join(found) or "FALSE"


def where_sql(conditions: Sequence[Filter], sql: Sql) -> str:
    parts = [any_contains_sql(c, sql) if isinstance(c, AnyContains) else condition_sql(c, sql) for c in conditions]
    return " AND ".join(f"({part})" for part in parts) or "TRUE"


def scoped_sql(scope: ScopeSpec, sql: Sql) -> str:
    """The view every query reads: served columns (pseudonymised where the grant says) and rows."""
    exprs = [quote(ROW)]
    for column in scope.columns:
        name = quote(column.name)
        if column.pseudonymised and scope.pads is not None:
            exprs.append(f"{pseudonym_sql(name, sql, scope.pads)} AS {name}")
        else:
            exprs.append(name)
    source = f"{quote(scope.alias)}.{TABLE}"
    return f"SELECT {', '.join(exprs)} FROM {source} WHERE {where_sql(scope.row_filter, sql)}"


def _order(key: SortKey) -> str:
    return f"{quote(key.column)} {'DESC' if key.descending else 'ASC'} NULLS LAST"


def after_sql(sort: Sequence[SortKey], values: Sequence[Any], row: int, sql: Sql) -> str:
    """Rows strictly after the key (values…, row) in the order ``sort`` then row number, with
    empty values last in either direction."""
    clauses: list[str] = []
    for i, key in enumerate(sort):
        col, value = quote(key.column), values[i]
        if value is None:
            continue  # nothing sorts after an empty value but other empty values
        # Bound only for clauses that are kept: each bind() adds a parameter.
        equal = [_equal(quote(k.column), v, sql) for k, v in zip(sort[:i], values[:i], strict=True)]
        beyond = f"({col} {'<' if key.descending else '>'} {sql.bind(value)} OR {col} IS NULL)"
        clauses.append(" AND ".join([*equal, beyond]))
    equal_all = [_equal(quote(k.column), v, sql) for k, v in zip(sort, values, strict=True)]
    clauses.append(" AND ".join([*equal_all, f"{quote(ROW)} > {sql.bind(row)}"]))
    return "(" + " OR ".join(f"({c})" for c in clauses) + ")"


def _equal(col: str, value: Any, sql: Sql) -> str:
    return f"{col} IS NULL" if value is None else f"{col} = {sql.bind(value)}"


@dataclass(frozen=True)
class Compiled:
    text: str
    params: list[Any]


def compile_rows(scope: ScopeSpec, fields: Sequence[str], where: Sequence[Filter], sort: Sequence[SortKey],
                 limit: int, after: tuple[Sequence[Any], int] | None, ordered: bool = False,
                 offset: int = 0) -> Compiled:
    """A page: ``limit`` rows after the cursor (or after skipping ``offset`` rows). Without a sort
    the replica's own order (the source file's) is kept by the engine, so no ORDER BY is needed
    and the scan stops at the page (``ordered`` asks for the ORDER BY anyway)."""
    sql = Sql()
    scoped = scoped_sql(scope, sql)
    sort_columns = [k.column for k in sort if k.column not in fields]
    selected = ", ".join(quote(c) for c in (ROW, *fields, *sort_columns))
    conditions = [where_sql(where, sql)]
    if after is not None:
        conditions.append(after_sql(sort, after[0], after[1], sql))
    order = f" ORDER BY {', '.join([*map(_order, sort), quote(ROW)])}" if sort or ordered else ""
    skip = f" OFFSET {int(offset)}" if offset else ""
    text = (f"WITH scoped AS ({scoped}) SELECT {selected} FROM scoped WHERE {' AND '.join(conditions)}"
            f"{order} LIMIT {int(limit)}{skip}")
    return Compiled(text, sql.params)


def compile_count(scope: ScopeSpec, where: Sequence[Filter]) -> Compiled:
    sql = Sql()
    scoped = scoped_sql(scope, sql)
    return Compiled(f"WITH scoped AS ({scoped}) SELECT count(*) FROM scoped WHERE {where_sql(where, sql)}",
                    sql.params)


def measure_alias(index: int) -> str:
    """Measures are named by position in SQL: a label such as ``count`` may also be a column name."""
    return f"__kf_m{index}"


def measure_sql(measure: Measure, index: int) -> str:
    alias = quote(measure_alias(index))
    if measure.column is None:
        return f"count(*) AS {alias}"
    return f"{measure.function}({quote(measure.column)}) AS {alias}"


def compile_aggregate(scope: ScopeSpec, query: AggregateQuery) -> Compiled:
    """GROUP BY over the scoped view; groups sorted as asked, else by the grouping columns."""
    sql = Sql()
    scoped = scoped_sql(scope, sql)
    groups = [quote(c) for c in query.group_by]
    selected = ", ".join([*groups, *(measure_sql(m, i) for i, m in enumerate(query.measures))])
    group = f" GROUP BY {', '.join(groups)}" if groups else ""
    aliases = {m.label: measure_alias(i) for i, m in enumerate(query.measures)}
    sort = [SortKey(aliases.get(k.column, k.column), k.descending) for k in query.sort]
    order_keys = [*map(_order, sort), *(f"{g} ASC NULLS LAST" for g in groups)]
    order = f" ORDER BY {', '.join(order_keys)}" if order_keys else ""
    text = (f"WITH scoped AS ({scoped}) SELECT {selected} FROM scoped WHERE {where_sql(query.where, sql)}"
            f"{group}{order} LIMIT {int(query.limit) + 1}")
    return Compiled(text, sql.params)


def compile_export(scope: ScopeSpec, fields: Sequence[str], where: Sequence[Filter],
                   sort: Sequence[SortKey], limit: int | None = None) -> Compiled:
    """Every matching row (a download), in file order unless a sort is asked for."""
    sql = Sql()
    scoped = scoped_sql(scope, sql)
    order = f" ORDER BY {', '.join([*map(_order, sort), quote(ROW)])}" if sort else ""
    tail = f" LIMIT {int(limit)}" if limit is not None else ""
    text = (f"WITH scoped AS ({scoped}) SELECT {', '.join(quote(c) for c in fields)} FROM scoped "
            f"WHERE {where_sql(where, sql)}{order}{tail}")
    return Compiled(text, sql.params)
