"""Pages of rows, exact totals and aggregates of a scope, through the engine.

Totals are exact and cached per version, scope and filter: a version never changes once written,
so a count computed once stays true (the count on every request is what made CKAN's DataStore
slow). Paging is by keyset on the source row number, so the 1000th page costs what the first does.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kaifang.access.columns import Column
from kaifang.access.cursor import Cursor, Sealed, encode, query_digest
from kaifang.access.engine import QueryEngine
from kaifang.access.query import AggregateQuery, Filter, RowQuery
from kaifang.access.scope import Scope
from kaifang.access.sql import compile_aggregate, compile_count, compile_rows


@dataclass(frozen=True)
class RowsPage:
    fields: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    """Values in the order of ``fields``."""
    next_token: str | None
    total: int | None
    version_number: int
    numbers: list[int] = field(default_factory=list)
    """The source row number (0-based) of each row."""

    def records(self) -> list[dict[str, Any]]:
        names = [c.name for c in self.fields]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


@dataclass(frozen=True)
class AggregatePage:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool
    version_number: int


def _where_key(where: Sequence[Filter]) -> str:
    return json.dumps([c.as_dict() for c in where], ensure_ascii=False, sort_keys=True, default=str)


def count_rows(engine: QueryEngine, scope: Scope, where: Sequence[Filter]) -> int:
    key = (scope.version.id, scope.key, _where_key(where))
    cached = engine.totals.get(key)
    if cached is not None:
        return int(cached)
    total = int(engine.scalar(compile_count(scope.spec(engine.alias(scope.version)), where)) or 0)
    engine.totals.put(key, total)
    return total


def _ascending(rows: list[tuple[Any, ...]]) -> bool:
    return all(a[0] < b[0] for a, b in itertools.pairwise(rows))


def read_rows(engine: QueryEngine, secret: str, scope: Scope, query: RowQuery,
              sealed: Sealed | None = None) -> RowsPage:
    spec = scope.spec(engine.alias(scope.version))
    digest = query_digest(query.where, query.sort, scope.key)
    after = None
    if sealed is not None:
        cursor = sealed.cursor(digest, query.sort, scope.by_name)
        after = (cursor.values, cursor.row)
    compiled = compile_rows(spec, query.fields, query.where, query.sort, query.limit + 1, after)
    rows = engine.fetchall(compiled)
    if not query.sort and not _ascending(rows):
        # The engine keeps insertion order; should it ever not, order explicitly rather than skip rows.
        rows = engine.fetchall(compile_rows(spec, query.fields, query.where, query.sort, query.limit + 1, after,
                                            ordered=True))
    more = len(rows) > query.limit
    rows = rows[:query.limit]
    width = len(query.fields)
    next_token = None
    if more and rows:
        last = rows[-1]
        position = {name: i + 1 for i, name in enumerate(query.fields)}
        extra = [k.column for k in query.sort if k.column not in position]
        position.update({name: 1 + width + i for i, name in enumerate(extra)})
        values = tuple(last[position[k.column]] for k in query.sort)
        next_token = encode(secret, Cursor(scope.version.id, values, int(last[0])), digest)
    total = count_rows(engine, scope, query.where) if query.total else None
    fields = tuple(scope.by_name[name] for name in query.fields)
    return RowsPage(fields, [tuple(row[1:1 + width]) for row in rows], next_token, total, scope.version_number,
                    [int(row[0]) for row in rows])


def read_offset(engine: QueryEngine, scope: Scope, query: RowQuery, offset: int) -> RowsPage:
    """A page by position (CKAN's ``offset``), in the order of keyset pages: the sort, then the
    source row number, so successive offsets serve every row once. No token, no total."""
    spec = scope.spec(engine.alias(scope.version))
    compiled = compile_rows(spec, query.fields, query.where, query.sort, query.limit, None, offset=offset)
    rows = engine.fetchall(compiled)
    if not query.sort and not _ascending(rows):
        rows = engine.fetchall(compile_rows(spec, query.fields, query.where, query.sort, query.limit, None,
                                            ordered=True, offset=offset))
    width = len(query.fields)
    fields = tuple(scope.by_name[name] for name in query.fields)
    return RowsPage(fields, [tuple(row[1:1 + width]) for row in rows], None, None, scope.version_number,
                    [int(row[0]) for row in rows])


def _json_number(value: Any) -> Any:
    """Sums of 64-bit integers are 128-bit in the engine; JSON writers stop at 64 bits."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return float(value)
    return value


def read_aggregate(engine: QueryEngine, scope: Scope, query: AggregateQuery) -> AggregatePage:
    spec = scope.spec(engine.alias(scope.version))
    rows = engine.fetchall(compile_aggregate(spec, query), bulk=True)
    truncated = len(rows) > query.limit
    columns = (*query.group_by, *(m.label for m in query.measures))
    width = len(query.group_by)
    rows = [(*row[:width], *map(_json_number, row[width:])) for row in rows[:query.limit]]
    return AggregatePage(columns, rows, truncated, scope.version_number)
