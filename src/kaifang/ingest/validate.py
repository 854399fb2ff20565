"""Check a stream of batches against the declared data items and type the declared columns.

Casting is done by DuckDB over each batch (strict date parsing: 2023-02-30 is an error, not
2 March); the first problems are kept with their row numbers, all are counted.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from kaifang.i18n import _
from kaifang.identifiers import mask_keep
from kaifang.ingest import sqlchecks as q
from kaifang.ingest.engine import connect
from kaifang.ingest.errors import Code, IngestError


class ItemType(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


_ALIASES = {
    ItemType.STRING: ("str", "text", "varchar", "char", "字符", "字符型", "字符串", "文本"),
    ItemType.INTEGER: ("int", "bigint", "long", "整数", "整型"),
    ItemType.NUMBER: ("float", "double", "decimal", "numeric", "数值", "数值型", "数字", "小数"),
    ItemType.DATE: ("日期", "日期型"),
    ItemType.DATETIME: ("timestamp", "日期时间", "时间", "时间戳"),
    ItemType.BOOLEAN: ("bool", "布尔", "布尔型", "逻辑型"),
}
ALIASES = {alias: kind for kind, names in _ALIASES.items() for alias in names}
ARROW_TYPES = {
    ItemType.STRING: pa.string(), ItemType.INTEGER: pa.int64(), ItemType.NUMBER: pa.float64(),
    ItemType.DATE: pa.date32(), ItemType.DATETIME: pa.timestamp("us"), ItemType.BOOLEAN: pa.bool_(),
}
_PARSERS = {
    ItemType.INTEGER: q.parse_integer, ItemType.NUMBER: q.parse_number,
    ItemType.DATE: q.parse_date, ItemType.DATETIME: q.parse_datetime,
    ItemType.BOOLEAN: q.parse_boolean,
}


def parse_type(value: str | ItemType) -> ItemType:
    text = str(value).strip().lower()
    try:
        return ItemType(text)
    except ValueError:
        if text in ALIASES:
            return ALIASES[text]
    raise IngestError(Code.INVALID_VALUES, _("Unknown data item type: %(type)s", type=value),
                      {"type": str(value)})


@dataclass(frozen=True)
class DataItem:
    name: str
    type: ItemType = ItemType.STRING
    required: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", parse_type(self.type))


@dataclass(frozen=True)
class ValueProblem:
    row: int
    """1-based data row (the header is not counted)."""
    column: str
    problem: str
    """"type" (not a valid value of the declared type) or "required" (empty)."""
    value: str | None


@dataclass
class ValidationReport:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    problems: list[ValueProblem] = field(default_factory=list)
    problem_count: int = 0
    by_column: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.problem_count

    def as_dict(self) -> dict[str, Any]:
        return {"missing": self.missing, "extra": self.extra, "problem_count": self.problem_count,
                "by_column": self.by_column, "problems": [vars(p) for p in self.problems]}


def _key(name: str) -> str:
    return "".join(name.split()).lower()


def _shown(value: str | None) -> str | None:
    """Problem reports are stored with the job: show the shape of a value, not all of it."""
    if value is None or len(value) <= 6:
        return value
    return mask_keep(value[:40], 2, 2)


class Validator:
    """Callable over batches: returns the batch with declared columns typed."""

    def __init__(self, items: Sequence[DataItem], columns: Sequence[str],
                 max_problems: int = 100) -> None:
        by_key = {_key(item.name): item for item in items}
        self.items: dict[str, DataItem] = {}  # source column → declared item
        for column in columns:
            item = by_key.pop(_key(column), None)
            if item is not None:
                self.items[column] = item
        self.report = ValidationReport(
            missing=[item.name for item in by_key.values()],
            extra=[c for c in columns if c not in self.items],
        )
        self.columns = list(columns)
        self.max_problems = max_problems
        self.schema = pa.schema([
            pa.field(self.items[c].name if c in self.items else c,
                     ARROW_TYPES[self.items[c].type] if c in self.items else pa.string())
            for c in columns
        ])
        self._con = connect(threads=1)
        self._sql = self._build_sql()

    def check_columns(self) -> None:
        if self.report.missing:
            raise IngestError(
                Code.MISSING_COLUMNS,
                _("Declared data items are missing from the file: %(columns)s",
                  columns="、".join(self.report.missing)),
                {"missing": self.report.missing, "extra": self.report.extra},
            )

    def _build_sql(self) -> str:
        exprs: list[str] = []
        flags: list[str] = []
        for i, column in enumerate(self.columns):
            col = q.quote(column)
            item = self.items.get(column)
            out = q.quote(item.name if item else column)
            if item is None or item.type is ItemType.STRING:
                exprs.append(f"{col} AS {out}")
                typed = col
            else:
                typed = _PARSERS[item.type](f"trim({col})")
                exprs.append(f"{typed} AS {out}")
            empty = f"({col} IS NULL OR trim({col}) = '')"
            flags.append(f"(NOT {empty} AND {typed} IS NULL) AS kf_bad_{i}")
            flags.append(f"({empty} AND {bool(item and item.required)}) AS kf_missing_{i}")
        return f"SELECT {', '.join(exprs + flags)} FROM kf_batch"

    def __call__(self, batch: pa.RecordBatch, first_row: int) -> pa.RecordBatch:
        self._con.register("kf_batch", batch)
        try:
            result = self._con.sql(self._sql).to_arrow_table()
        finally:
            self._con.unregister("kf_batch")
        for i, column in enumerate(self.columns):
            self._collect(result, batch, i, column, first_row)
        typed = result.select(list(range(len(self.columns)))).cast(self.schema)
        return typed.combine_chunks().to_batches()[0] if typed.num_rows else batch

    def _collect(self, result: pa.Table, batch: pa.RecordBatch, i: int, column: str,
                 first_row: int) -> None:
        for problem in ("bad", "missing"):
            flag = result.column(f"kf_{problem}_{i}")
            count = pc.sum(flag).as_py() or 0
            if not count:
                continue
            self.report.problem_count += count
            self.report.by_column[column] = self.report.by_column.get(column, 0) + count
            room = self.max_problems - len(self.report.problems)
            if room <= 0:
                continue
            idx = pc.indices_nonzero(flag.combine_chunks()).to_pylist()[:room]
            values = batch.column(i).take(pa.array(idx)).to_pylist()
            for row, value in zip(idx, values, strict=True):
                self.report.problems.append(ValueProblem(
                    first_row + row + 1, column, "type" if problem == "bad" else "required",
                    _shown(value)))

    def close(self) -> None:
        self._con.close()
