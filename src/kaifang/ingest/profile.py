"""Column profiles and a quality report, computed by DuckDB over Arrow data or a Parquet file.

Types are inferred on a 10 000-row reservoir sample (trying integer, number, date, datetime,
boolean parsers); counts, distinct values, min/max and conformity to the inferred type are
computed over all rows in one scan; the top values with one GROUP BY per column.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from kaifang.i18n import N_, _
from kaifang.ingest import sqlchecks as q
from kaifang.ingest.engine import Data, connect, source_sql

SAMPLE_ROWS = 10_000
TYPE_SHARE = 0.98


def _quantity(parse: Callable[[str], str]) -> Callable[[str], str]:
    """Digit strings with a leading zero or more than 15 digits are codes, not quantities."""
    def parser(v: str) -> str:
        code = f"regexp_matches({v}, '^[+-]?(0[0-9]|[0-9]{{16}})')"
        return f"(CASE WHEN NOT {code} THEN {parse(v)} END)"
    return parser


PARSERS: dict[str, Callable[[str], str]] = {
    "integer": _quantity(q.parse_integer),
    "number": _quantity(q.parse_number),
    "date": q.parse_date,
    "datetime": q.parse_datetime,
    "boolean": q.parse_boolean,
}
# Over all rows, once the type is known from the sample: plain casts first (several times faster
# than the strict parsers), the format list only for what they reject.
SCAN_PARSERS: dict[str, Callable[[str], str]] = {
    "integer": lambda v: f"TRY_CAST(replace({v}, ',', '') AS BIGINT)",
    "number": lambda v: f"TRY_CAST(replace({v}, ',', '') AS DOUBLE)",
    "date": lambda v: f"coalesce(TRY_CAST({v} AS DATE), {q.parse_date(v)})",
    "datetime": lambda v: f"coalesce(TRY_CAST({v} AS TIMESTAMP), {q.parse_datetime(v)})",
    "boolean": q.parse_boolean,
}
EXACT_TOP_MAX_DISTINCT = 100_000
TYPE_LABELS = {
    "integer": N_("whole numbers"), "number": N_("decimal numbers"), "date": N_("dates"),
    "datetime": N_("dates with times"), "boolean": N_("yes/no values"),
}
Masker = Callable[[str], str]


@dataclass
class ColumnProfile:
    name: str
    arrow_type: str
    inferred_type: str
    rows: int = 0
    empty: int = 0
    """NULL or blank cells."""
    distinct: int = 0
    """Approximate (HyperLogLog)."""
    conformity: float = 1.0
    """Share of non-empty values that parse as the inferred type."""
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    top: list[tuple[str, int]] = field(default_factory=list)
    top_from_sample: bool = False
    patterns: list[tuple[str, float]] = field(default_factory=list)

    @property
    def completeness(self) -> float:
        return 1 - self.empty / self.rows if self.rows else 0.0


@dataclass
class QualityReport:
    completeness: float
    validity: float
    uniqueness: float
    duplicate_rows: int
    latest_date: str | None
    score: float
    """0–100, the mean of completeness, validity and uniqueness."""
    issues: list[str] = field(default_factory=list)


@dataclass
class TableProfile:
    rows: int
    columns: list[ColumnProfile]
    quality: QualityReport

    def as_dict(self) -> dict[str, Any]:
        cols = [dict(vars(c), completeness=round(c.completeness, 4)) for c in self.columns]
        return {"rows": self.rows, "columns": cols, "quality": vars(self.quality)}

    def column(self, name: str) -> ColumnProfile:
        return next(c for c in self.columns if c.name == name)


def profile_table(data: Data, *, masks: Mapping[str, Masker] | None = None,
                  text_columns: Collection[str] = (), top: int = 5,
                  sample: pa.Table | None = None, memory_limit: str | None = None,
                  temp_dir: Path | None = None) -> TableProfile:
    """Profile ``data`` (Arrow table/stream or Parquet path). ``masks`` turn the raw values shown
    (top values, min, max) of sensitive columns into masked ones; ``text_columns`` are kept as
    strings whatever they look like (identifiers); ``sample`` is a random sample of the rows
    already at hand (it saves a scan), else one is drawn. ``memory_limit`` bounds the engine
    (the exact duplicate count of ten million rows would otherwise take gigabytes), spilling to
    ``temp_dir``."""
    con = connect(memory_limit=memory_limit, temp_dir=temp_dir)
    try:
        src = source_sql(con, data)
        schema = con.sql(f"SELECT * FROM {src} LIMIT 0").to_arrow_table().schema
        if sample is not None:
            con.register("kf_sample", sample)
        else:
            con.execute(f"CREATE TEMP TABLE kf_sample AS SELECT * FROM {src} "
                        f"USING SAMPLE reservoir({SAMPLE_ROWS} ROWS) REPEATABLE (7)")
        columns = _infer(con, schema, text_columns)
        rows, distinct_rows = _scan(con, src, columns)
        for column in columns:
            column.top = _top(con, src, column, top)
            column.patterns = _patterns(con, column.name)
            _apply_mask(column, (masks or {}).get(column.name))
        quality = _quality(rows, distinct_rows, columns)
    finally:
        con.close()
    return TableProfile(rows, columns, quality)


def _arrow_kind(dtype: pa.DataType) -> str | None:
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "number"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "datetime"
    if pa.types.is_boolean(dtype):
        return "boolean"
    return None


def _infer(con: Any, schema: pa.Schema, text_columns: Collection[str]) -> list[ColumnProfile]:
    """Column types: Arrow's when typed, else the first parser that most sampled values pass
    (one query over the sample for all columns)."""
    profiles = []
    parts = []
    for f in schema:
        known = _arrow_kind(f.type)
        profiles.append(ColumnProfile(f.name, str(f.type), known or "string"))
        if known or f.name in text_columns:
            continue
        v = f"trim({q.quote(f.name)})"
        parts.append(f"count_if({v} <> '')")
        parts += [f"count_if({parse(v)} IS NOT NULL)" for parse in PARSERS.values()]
    if not parts:
        return profiles
    row = iter(con.sql(f"SELECT {', '.join(parts)} FROM kf_sample").fetchall()[0])
    for profile, f in zip(profiles, schema, strict=True):
        if _arrow_kind(f.type) or f.name in text_columns:
            continue
        n, hits = next(row), [next(row) for _ in PARSERS]
        if not n:
            profile.inferred_type = "empty"
            continue
        profile.inferred_type = next(
            (kind for kind, hit in zip(PARSERS, hits, strict=True) if hit / n >= TYPE_SHARE),
            "string",
        )
    return profiles


def _blank(col: str) -> str:
    """NULL, '' or only whitespace. trim() costs a second per ten million cells, so it runs only
    on values that sort before '!', i.e. start with a space, a tab or a line break."""
    return f"({col} IS NULL OR {col} = '' OR ({col} < '!' AND trim({col}) = ''))"


def _scan(con: Any, src: str, columns: list[ColumnProfile]) -> tuple[int, int]:
    """One pass over all rows for every column's counts, extremes and conformity."""
    parts = ["count(*)"]
    for c in columns:
        col = q.quote(c.name)
        text = c.arrow_type == "string"
        typed = SCAN_PARSERS[c.inferred_type](col) if text and c.inferred_type in SCAN_PARSERS \
            else col
        empty = _blank(col) if text else f"({col} IS NULL)"
        length = f"(CASE WHEN NOT {empty} THEN length({col}) END)" if text else "NULL"
        parts += [
            f"count_if({empty})",
            f"approx_count_distinct({col})",
            f"count_if(NOT {empty} AND {typed} IS NOT NULL)",
            f"min({typed})", f"max({typed})",
            f"min({length})", f"max({length})",
        ]
    # Exact duplicate rows, in the same scan: rows whose 64-bit hash of all columns repeats.
    parts.append(f"count(DISTINCT hash({', '.join(q.quote(c.name) for c in columns)}))")
    row = con.sql(f"SELECT {', '.join(parts)} FROM {src}").fetchall()[0]
    rows = row[0]
    for i, c in enumerate(columns):
        empty, distinct, good, low, high, short, long_ = row[1 + 7 * i : 8 + 7 * i]
        c.rows, c.empty, c.distinct = rows, empty, distinct
        filled = rows - empty
        c.conformity = round(good / filled, 4) if filled else 1.0
        c.min, c.max = _plain(low), _plain(high)
        c.min_length, c.max_length = short, long_
    return int(rows), int(row[-1])


def _plain(value: Any) -> Any:
    """JSON-friendly: dates and times as ISO text."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _top(con: Any, src: str, column: ColumnProfile, top: int) -> list[tuple[str, int]]:
    """Exact counts over all rows; for near-unique columns (IDs, order numbers), where a full
    GROUP BY is costly and the answer is "each value once", counts within the sample."""
    col = q.quote(column.name)
    table = src if column.distinct <= EXACT_TOP_MAX_DISTINCT else "kf_sample"
    column.top_from_sample = table == "kf_sample"
    rows = con.sql(
        f"SELECT CAST({col} AS VARCHAR) AS v, count(*) AS n FROM {table} "
        f"WHERE trim(CAST({col} AS VARCHAR)) <> '' "
        f"GROUP BY v ORDER BY n DESC, v LIMIT {int(top)}"
    ).fetchall()
    return [(v, n) for v, n in rows]


def _patterns(con: Any, name: str, top: int = 3) -> list[tuple[str, float]]:
    v = f"trim(CAST({q.quote(name)} AS VARCHAR))"
    shape = (f"regexp_replace(regexp_replace(regexp_replace({v}, '[A-Za-z]', 'a', 'g'), "
             f"'[0-9]', 'd', 'g'), '\\p{{Han}}', 'h', 'g')")
    rows = con.sql(
        f"SELECT {shape} AS p, count(*) AS n, sum(count(*)) OVER () AS total FROM kf_sample "
        f"WHERE {v} <> '' GROUP BY p ORDER BY n DESC, p LIMIT {top}"
    ).fetchall()
    return [(summarise_pattern(p), round(n / total, 4)) for p, n, total in rows]


def summarise_pattern(shape: str) -> str:
    """'dddddddddddddddddd' → 'digits-18', 'hhh' → 'han-3', long runs written as 'd{8}'."""
    for char, word in (("d", "digits"), ("h", "han"), ("a", "letters")):
        if shape and set(shape) == {char}:
            return f"{word}-{len(shape)}"
    if len(shape) <= 16:
        return shape
    return re.sub(r"(.)\1{3,}", lambda m: f"{m.group(1)}{{{len(m.group(0))}}}", shape)


def _apply_mask(column: ColumnProfile, masker: Masker | None) -> None:
    """Sensitive columns show masked values only, and no raw extremes."""
    if masker is None:
        return
    column.top = [(masker(v), n) for v, n in column.top]
    column.min = masker(str(column.min)) if column.min is not None else None
    column.max = masker(str(column.max)) if column.max is not None else None


def _quality(rows: int, distinct: int, columns: list[ColumnProfile]) -> QualityReport:
    cells = rows * len(columns)
    empty = sum(c.empty for c in columns)
    filled = cells - empty
    conforming = sum(round(c.conformity * (c.rows - c.empty)) for c in columns)
    duplicates = rows - distinct
    completeness = 1 - empty / cells if cells else 0.0
    validity = conforming / filled if filled else 1.0
    uniqueness = 1 - duplicates / rows if rows else 1.0
    dates = [c.max for c in columns if c.inferred_type in ("date", "datetime") and c.max]
    return QualityReport(
        completeness=round(completeness, 4), validity=round(validity, 4),
        uniqueness=round(uniqueness, 4), duplicate_rows=duplicates,
        latest_date=str(max(dates)) if dates else None,
        score=round(100 * (completeness + validity + uniqueness) / 3, 1),
        issues=_issues(columns, duplicates),
    )


def _issues(columns: list[ColumnProfile], duplicates: int) -> list[str]:
    issues = []
    for c in columns:
        if c.rows and c.completeness < 0.5:
            issues.append(_("Column %(column)s is %(share)s%% empty.",
                            column=c.name, share=round((1 - c.completeness) * 100)))
        if c.conformity < 1.0 and c.inferred_type not in ("string", "empty"):
            issues.append(_("%(share)s%% of the values of %(column)s are not valid %(type)s.",
                            share=round((1 - c.conformity) * 100, 1), column=c.name,
                            type=_(TYPE_LABELS[c.inferred_type])))
    if duplicates:
        issues.append(_("%(count)s rows are exact duplicates of another row.", count=duplicates))
    return issues
