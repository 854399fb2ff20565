"""Small helpers around DuckDB connections used by profiling, detection and desensitisation."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TypeAlias

import duckdb
import pyarrow as pa

from kaifang.ingest.sqlchecks import literal

Data: TypeAlias = pa.Table | pa.RecordBatchReader | str | Path
_names = itertools.count()


def connect(*, temp_dir: Path | None = None, memory_limit: str | None = None,
            threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A private in-memory database; spills go to ``temp_dir`` (next to the output, not /tmp)."""
    con = duckdb.connect(":memory:")
    if temp_dir is not None:
        con.execute(f"SET temp_directory = {literal(str(temp_dir))}")
    if memory_limit:
        con.execute(f"SET memory_limit = {literal(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


def source_sql(con: duckdb.DuckDBPyConnection, data: Data) -> str:
    """SQL naming ``data``: an Arrow object is registered under a fresh name, a path is read as
    Parquet."""
    if isinstance(data, str | Path):
        return f"read_parquet({literal(str(data))})"
    name = f"kf_src_{next(_names)}"
    con.register(name, data)
    return name
