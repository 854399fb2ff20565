"""k-anonymity over chosen quasi-identifier columns (sex, birth year, district…): the size of
the smallest equivalence class and how many rows sit in classes smaller than k."""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa

from kaifang.ingest.engine import Data, connect, source_sql
from kaifang.ingest.sqlchecks import quote


@dataclass(frozen=True)
class KAnonymityReport:
    k: int
    quasi_identifiers: tuple[str, ...]
    rows: int
    classes: int
    smallest_class: int
    classes_below_k: int
    rows_below_k: int

    @property
    def satisfied(self) -> bool:
        return self.rows_below_k == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "satisfied": self.satisfied}


def k_anonymity(data: Data, quasi_identifiers: Sequence[str], k: int) -> KAnonymityReport:
    """Measure ``data`` (Arrow table/stream or Parquet path); NULL is a value like any other."""
    keys = ", ".join(quote(c) for c in quasi_identifiers)
    con = connect()
    try:
        src = source_sql(con, data)
        row = con.sql(
            f"SELECT count(*), coalesce(min(n), 0), coalesce(sum(n), 0), count_if(n < {int(k)}), "
            f"coalesce(sum(n) FILTER (WHERE n < {int(k)}), 0) "
            f"FROM (SELECT count(*) AS n FROM {src} GROUP BY {keys})"
        ).fetchall()[0]
    finally:
        con.close()
    classes, smallest, rows, small_classes, small_rows = (int(v) for v in row)
    return KAnonymityReport(k, tuple(quasi_identifiers), rows, classes, smallest, small_classes,
                            small_rows)


def suppress_small_classes(table: pa.Table, quasi_identifiers: Sequence[str], k: int) -> pa.Table:
    """The rows of ``table`` whose equivalence class has at least ``k`` rows."""
    keys = ", ".join(quote(c) for c in quasi_identifiers)
    con = connect()
    try:
        src = source_sql(con, table)
        return con.sql(
            f"SELECT * FROM {src} QUALIFY count(*) OVER (PARTITION BY {keys}) >= {int(k)}"
        ).to_arrow_table()
    finally:
        con.close()
