"""Versions written straight to Parquet (no catalog, no ingest) and scopes over them, so the query
engine can be tested on many generated tables in little time."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kaifang.access.columns import columns_of
from kaifang.access.engine import QueryEngine, VersionRef
from kaifang.access.models import Channel
from kaifang.access.query import Condition
from kaifang.access.scope import Scope
from kaifang.config import Environment, Settings
from kaifang.datasets.storage import LocalStorage

SECRET = "test-secret-key-with-enough-length-0123456789"


def engine_in(folder: Path) -> QueryEngine:
    settings = Settings(environment=Environment.TEST, secret_key=SECRET, data_dir=folder,
                        replica_dir=folder / "replicas", query_threads=1)
    return QueryEngine(settings, LocalStorage(folder / "versions"))


def write_version(engine: QueryEngine, schema: pa.Schema, rows: Sequence[Sequence[Any]]) -> VersionRef:
    """A version holding ``rows`` (tuples in the order of ``schema``) in the engine's storage."""
    version_id = uuid.uuid4().hex
    table = pa.Table.from_pylist([dict(zip(schema.names, row, strict=True)) for row in rows], schema=schema)
    with tempfile.TemporaryDirectory() as work:
        local = Path(work) / "v.parquet"
        pq.write_table(table, local)
        engine.storage.put(local, f"{version_id}/1.parquet")
    return VersionRef(version_id, f"{version_id}/1.parquet", uuid.uuid4().hex, len(rows), tuple(schema.names))


def open_scope(ref: VersionRef, schema: pa.Schema, *, pseudonymised: frozenset[str] = frozenset(),
               row_filter: tuple[Condition, ...] = (), grant_id: str | None = None,
               pads: tuple[bytes, bytes] | None = None, number: int = 1) -> Scope:
    columns = columns_of([[f.name, str(f.type)] for f in schema], pseudonymised=pseudonymised)
    return Scope(entry_id="entry", entry_name="table", open_type="unconditional", version=ref,
                 version_number=number, columns=tuple(columns), row_filter=row_filter, channel=Channel.API,
                 user_id=None, grant_id=grant_id, pads=pads)
