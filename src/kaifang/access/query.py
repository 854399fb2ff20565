"""What a caller asks of a version's rows, parsed from query parameters and checked against the
columns the caller may see. Every refusal names the parameter (``InvalidParameter`` → 400).

Filters follow the ``column__operator=value`` convention Datasette and Django users know; a bare
``column=value`` means equality. Reserved parameters (``fields``, ``sort``, ``limit``, ``next``,
``total``, ``format``) are never read as columns; a column of that name is filtered with
``name__eq``. A column the caller may not see is unknown, exactly like one that does not exist.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kaifang.access.columns import Column, ColumnKind, parse_value
from kaifang.errors import InvalidParameter
from kaifang.i18n import N_, _

OPERATORS = {
    "eq": N_("equals"), "ne": N_("does not equal"), "lt": N_("less than"), "lte": N_("at most"),
    "gt": N_("greater than"), "gte": N_("at least"), "in": N_("one of"), "contains": N_("contains"),
    "startswith": N_("starts with"), "isnull": N_("is empty"),
}
TEXT_OPERATORS = frozenset({"contains", "startswith"})
ORDER_OPERATORS = frozenset({"lt", "lte", "gt", "gte"})
ROW_PARAMS = frozenset({"fields", "sort", "limit", "next", "total", "format"})
AGGREGATE_PARAMS = frozenset({"group_by", "measures", "sort", "limit", "format"})
# Handled before the route (the interface language); never a filter.
GLOBAL_PARAMS = frozenset({"lang"})
MEASURES = ("count", "sum", "avg", "min", "max")
NUMERIC = frozenset({ColumnKind.INTEGER, ColumnKind.NUMBER})
MAX_CONDITIONS = 30
MAX_IN_VALUES = 200
MAX_SORT_KEYS = 5
MAX_GROUP_BY = 5
MAX_MEASURES = 10
MAX_VALUE_LENGTH = 1000


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: Any
    """A typed value; a tuple of them for ``in``; a bool for ``isnull``."""

    def as_dict(self) -> dict[str, Any]:
        value = list(self.value) if isinstance(self.value, tuple) else self.value
        return {"column": self.column, "op": self.op, "value": _jsonable(value)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


@dataclass(frozen=True)
class AnyContains:
    """Rows where one of ``columns`` holds ``text``, ignoring case: CKAN's full-text ``q``."""

    columns: tuple[str, ...]
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "op": "contains_any", "value": self.text}


# What a query's ``where`` holds: all of them apply.
Filter = Condition | AnyContains


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False

    def as_text(self) -> str:
        return f"-{self.column}" if self.descending else self.column


@dataclass(frozen=True)
class RowQuery:
    fields: tuple[str, ...]
    where: tuple[Filter, ...]
    sort: tuple[SortKey, ...]
    limit: int
    cursor: str | None = None
    total: bool = False


@dataclass(frozen=True)
class Measure:
    function: str
    column: str | None = None

    @property
    def label(self) -> str:
        """The key of this measure in results and in ``sort`` (``count``, ``sum:注册资本``)."""
        return self.function if self.column is None else f"{self.function}:{self.column}"


@dataclass(frozen=True)
class AggregateQuery:
    group_by: tuple[str, ...]
    measures: tuple[Measure, ...]
    where: tuple[Condition, ...]
    sort: tuple[SortKey, ...]
    limit: int


# ---- single parameters ------------------------------------------------------------------------

def _unknown_column(param: str, name: str) -> InvalidParameter:
    return InvalidParameter(param, _("“%(column)s” is not a column of this dataset.", column=name[:100]))


def parse_int(param: str, text: str | None, default: int, *, low: int = 1, high: int | None = None) -> int:
    if text is None or text.strip() == "":
        return default
    try:
        value = int(text.strip())
    except ValueError:
        raise InvalidParameter(param, _("“%(value)s” is not a whole number.", value=text[:80])) from None
    if value < low:
        raise InvalidParameter(param, _("Must be at least %(low)s.", low=low))
    if high is not None and value > high:
        raise InvalidParameter(param, _("Must be at most %(high)s.", high=high))
    return value


def parse_bool(param: str, text: str | None, default: bool = False) -> bool:
    if text is None or text.strip() == "":
        return default
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise InvalidParameter(param, _("Use true or false."))


def parse_fields(text: str | None, columns: Mapping[str, Column], param: str = "fields") -> tuple[str, ...]:
    """The columns to return, in the order asked; all of them when not given."""
    if text is None or not text.strip():
        return tuple(columns)
    wanted: list[str] = []
    for name in (part.strip() for part in text.split(",")):
        if not name:
            continue
        if name not in columns:
            raise _unknown_column(param, name)
        if name not in wanted:
            wanted.append(name)
    if not wanted:
        raise InvalidParameter(param, _("Name at least one column."))
    return tuple(wanted)


def parse_sort(text: str | None, columns: Mapping[str, Column], param: str = "sort",
               extra: Iterable[str] = ()) -> tuple[SortKey, ...]:
    """``col,-col2``: ascending unless the name starts with “-”; empty values come last."""
    if text is None or not text.strip():
        return ()
    allowed = set(columns) | set(extra)
    keys: list[SortKey] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        descending = part.startswith("-")
        name = part[1:].strip() if descending else part
        if name not in allowed:
            raise _unknown_column(param, name)
        if any(k.column == name for k in keys):
            raise InvalidParameter(param, _("“%(column)s” is named twice.", column=name[:100]))
        keys.append(SortKey(name, descending))
    if len(keys) > MAX_SORT_KEYS:
        raise InvalidParameter(param, _("Sort by at most %(n)s columns.", n=MAX_SORT_KEYS))
    return tuple(keys)


# ---- filters ----------------------------------------------------------------------------------

def split_filter(key: str, columns: Mapping[str, Column]) -> tuple[str, str] | None:
    """``column__op`` → (column, op); a bare column name → (column, "eq"); None if neither."""
    if key in columns:
        return key, "eq"
    name, sep, op = key.rpartition("__")
    if sep and name:
        return name, op
    return None


def _values(param: str, text: str) -> list[str]:
    """The list of an ``in`` filter: comma-separated, or a JSON array for values with commas."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except (ValueError, RecursionError):
            raise InvalidParameter(param, _("The list is not valid JSON.")) from None
        if not isinstance(data, list) or not all(isinstance(v, str | int | float) for v in data):
            raise InvalidParameter(param, _("The list must hold only text, numbers or true/false."))
        return [_json_text(v) for v in data]
    return [part for part in text.split(",")]


def _json_text(value: str | int | float) -> str:
    """A JSON list item as the text a caller would have typed (``true``, not ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_condition(param: str, column_name: str, op: str, text: str,
                    columns: Mapping[str, Column]) -> Condition:
    column = columns.get(column_name)
    if column is None:
        raise _unknown_column(param, column_name)
    if op not in OPERATORS:
        raise InvalidParameter(param, _("“%(op)s” is not an operator; use one of %(ops)s.",
                                        op=op[:40], ops=", ".join(OPERATORS)))
    if len(text) > MAX_VALUE_LENGTH * 10:
        raise InvalidParameter(param, _("The value is too long."))
    kind = ColumnKind.TEXT if column.pseudonymised else column.kind
    if op in TEXT_OPERATORS and kind is not ColumnKind.TEXT:
        raise InvalidParameter(param, _("“%(op)s” works on text columns only.", op=op))
    if op in ORDER_OPERATORS and kind is ColumnKind.BOOLEAN:
        raise InvalidParameter(param, _("Yes/no columns cannot be compared with “%(op)s”.", op=op))
    if op == "isnull":
        return Condition(column_name, op, parse_bool(param, text))
    try:
        if op == "in":
            values = _values(param, text)
            if not values or len(values) > MAX_IN_VALUES:
                raise InvalidParameter(param, _("Give between 1 and %(n)s values.", n=MAX_IN_VALUES))
            return Condition(column_name, op, tuple(parse_value(column, v) for v in values))
        if op in TEXT_OPERATORS and not text:
            raise InvalidParameter(param, _("Give the text to look for."))
        return Condition(column_name, op, parse_value(column, text))
    except ValueError as exc:
        raise InvalidParameter(param, str(exc)) from None


def parse_filters(params: Sequence[tuple[str, str]], columns: Mapping[str, Column],
                  reserved: frozenset[str]) -> tuple[Condition, ...]:
    """Every parameter that is not reserved must be a filter on a column the caller may see."""
    conditions: list[Condition] = []
    for key, text in params:
        if key in reserved or key in GLOBAL_PARAMS:
            continue
        split = split_filter(key, columns)
        if split is None:
            raise InvalidParameter(key, _("Unknown parameter. Filter with column__operator=value, or use "
                                          "one of: %(names)s.", names=", ".join(sorted(reserved))))
        conditions.append(parse_condition(key, split[0], split[1], text, columns))
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidParameter("filters", _("At most %(n)s filters.", n=MAX_CONDITIONS))
    return tuple(conditions)


def _single(params: Sequence[tuple[str, str]], name: str) -> str | None:
    found = [value for key, value in params if key == name]
    if len(found) > 1:
        raise InvalidParameter(name, _("Give this parameter once."))
    return found[0] if found else None


def parse_rows(params: Sequence[tuple[str, str]], columns: Mapping[str, Column], *,
               default_limit: int, max_limit: int) -> RowQuery:
    cursor = _single(params, "next")
    return RowQuery(
        fields=parse_fields(_single(params, "fields"), columns),
        where=parse_filters(params, columns, ROW_PARAMS),
        sort=parse_sort(_single(params, "sort"), columns),
        limit=parse_int("limit", _single(params, "limit"), min(default_limit, max_limit), high=max_limit),
        cursor=cursor.strip() if cursor and cursor.strip() else None,
        total=parse_bool("total", _single(params, "total")),
    )


# ---- aggregates -------------------------------------------------------------------------------

def parse_measures(text: str | None, columns: Mapping[str, Column]) -> tuple[Measure, ...]:
    """``count,sum:注册资本,avg:注册资本``; ``count`` when not given."""
    if text is None or not text.strip():
        return (Measure("count"),)
    measures: list[Measure] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        function, sep, name = part.partition(":")
        function = function.strip().lower()
        if function not in MEASURES:
            raise InvalidParameter("measures", _("“%(fn)s” is not a measure; use one of %(all)s.",
                                                 fn=function[:40], all=", ".join(MEASURES)))
        if function == "count":
            measure = Measure("count", None)
        else:
            column = columns.get(name.strip()) if sep else None
            if column is None:
                raise InvalidParameter("measures", _("“%(fn)s” needs a column: %(fn)s:column.", fn=function)
                                       if not sep else _("“%(column)s” is not a column of this dataset.",
                                                         column=name.strip()[:100]))
            kind = ColumnKind.TEXT if column.pseudonymised else column.kind
            if function in ("sum", "avg") and kind not in NUMERIC:
                raise InvalidParameter("measures", _("“%(fn)s” needs a number column; “%(column)s” is not one.",
                                                     fn=function, column=column.name))
            if kind is ColumnKind.BOOLEAN:
                raise InvalidParameter("measures", _("“%(fn)s” cannot be taken of a yes/no column.", fn=function))
            measure = Measure(function, column.name)
        if measure not in measures:
            measures.append(measure)
    if not measures or len(measures) > MAX_MEASURES:
        raise InvalidParameter("measures", _("Give between 1 and %(n)s measures.", n=MAX_MEASURES))
    return tuple(measures)


def parse_aggregate(params: Sequence[tuple[str, str]], columns: Mapping[str, Column], *,
                    default_limit: int, max_limit: int) -> AggregateQuery:
    group_text = _single(params, "group_by")
    group_by = parse_fields(group_text, columns, "group_by") if group_text and group_text.strip() else ()
    if len(group_by) > MAX_GROUP_BY:
        raise InvalidParameter("group_by", _("Group by at most %(n)s columns.", n=MAX_GROUP_BY))
    measures = parse_measures(_single(params, "measures"), columns)
    labels = [m.label for m in measures]
    if clash := next((label for label in labels if label in group_by), None):
        raise InvalidParameter("measures", _("“%(label)s” is also the name of a grouping column; group by another "
                                             "column or leave this measure out.", label=clash[:100]))
    sort = parse_sort(_single(params, "sort"), {name: columns[name] for name in group_by}, extra=labels)
    return AggregateQuery(
        group_by=group_by, measures=measures, where=parse_filters(params, columns, AGGREGATE_PARAMS),
        sort=sort, limit=parse_int("limit", _single(params, "limit"), min(default_limit, max_limit), high=max_limit),
    )


def condition_from_dict(data: Mapping[str, Any], columns: Mapping[str, Column]) -> Condition:
    """A stored condition (a grant's row filter) read back and checked like a typed one."""
    op = str(data.get("op", ""))
    value = data.get("value")
    if op == "isnull":
        text = "true" if value else "false"
    elif op == "in":
        text = json.dumps([str(v) for v in (value or [])], ensure_ascii=False)
    else:
        text = "" if value is None else str(value)
    return parse_condition("row_filter", str(data.get("column", "")), op, text, columns)
