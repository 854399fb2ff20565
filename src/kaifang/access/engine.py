"""The query engine: DuckDB over local *replicas* of published versions.

A version is kept as Parquet in the storage (local folder or S3). Reading Parquet for every API
call costs ~10 ms per 1M-row page, so each app node builds, on first use, a DuckDB database file of
the version next to it (``replica_dir``): compressed columns with zone maps, plus the source file's
row number (``__kf_row``) as the keyset key. Replicas are derived data — immutable like the
versions they copy, rebuilt whenever missing, safe to delete.

Two in-memory DuckDB instances per process attach the replicas read-only: one running each query
on a single thread, for pages and counts (under load a page is cheapest on one core, and requests
run side by side anyway), and one with ``query_threads`` for aggregates and downloads, which scan
whole versions. Neither may read any other file (``enable_external_access = false`` with only the
replica folder allowed) and their settings are locked; each thread queries through its own
cursor, and a watchdog interrupts any query running past the time limit.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names; values are bound
from __future__ import annotations

import heapq
import itertools
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from kaifang.access.columns import ROW
from kaifang.access.sql import Compiled, quote
from kaifang.config import Settings
from kaifang.datasets.storage import Storage
from kaifang.errors import KaifangError
from kaifang.i18n import _
from kaifang.ingest.sqlchecks import literal

T = TypeVar("T")
BATCH_ROWS = 65_536


class QueryTimeout(KaifangError):
    """A query ran past ``query_timeout_seconds`` and was stopped."""

    status_code = 503


class ReplicaError(KaifangError):
    """The version's file could not be turned into a queryable replica."""

    status_code = 503


@dataclass(frozen=True)
class VersionRef:
    """What the engine needs to know of a version (plain values: no ORM object crosses threads)."""

    id: str
    storage_key: str
    sha256: str
    rows: int
    columns: tuple[str, ...]


class Lru:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._data:
                return None
            self._data.move_to_end(key)
            return self._data[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class Watchdog:
    """One thread interrupting queries that run past their deadline (a timer thread per query
    would cost more than most queries)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._running: dict[int, duckdb.DuckDBPyConnection] = {}
        self._ids = itertools.count()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._watch, name="kf-query-watchdog", daemon=True)
        self._thread.start()

    def watch(self, cursor: duckdb.DuckDBPyConnection, seconds: float) -> int:
        ticket = next(self._ids)
        deadline = time.monotonic() + seconds
        with self._wake:
            self._running[ticket] = cursor
            # With one time limit for all, a new deadline is rarely the earliest: the thread is
            # woken only when it is (or when it was idle).
            earliest = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, ticket))
            if earliest:
                self._wake.notify()
        return ticket

    def done(self, ticket: int) -> None:
        with self._wake:
            self._running.pop(ticket, None)

    def _watch(self) -> None:
        with self._wake:
            while True:
                while self._heap and self._heap[0][1] not in self._running:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                deadline, ticket = self._heap[0]
                left = deadline - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                cursor = self._running.pop(ticket, None)
                if cursor is not None:
                    cursor.interrupt()


class QueryEngine:
    def __init__(self, settings: Settings, storage: Storage) -> None:
        self.settings, self.storage = settings, storage
        folder = settings.replica_dir or Path(settings.data_dir) / "replicas"
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder.resolve()
        self.timeout = settings.query_timeout_seconds
        self._db = self._instance(1)
        self._bulk = self._instance(max(1, int(settings.query_threads)))
        self._attached: dict[str, str] = {}
        self._lock = threading.Lock()
        self._builds: dict[str, threading.Lock] = {}
        self._local = threading.local()
        self._watchdog = Watchdog()
        self.totals = Lru(50_000)

    def _instance(self, threads: int) -> duckdb.DuckDBPyConnection:
        db = duckdb.connect(":memory:")
        db.execute(f"SET threads = {threads}")
        db.execute(f"SET memory_limit = {literal(self.settings.query_memory_limit)}")
        db.execute(f"SET allowed_directories = [{literal(str(self.folder) + os.sep)}]")
        db.execute("SET enable_external_access = false")
        db.execute("SET lock_configuration = true")
        return db

    # ---- replicas -------------------------------------------------------------------------------

    def replica_path(self, ref: VersionRef) -> Path:
        return self.folder / f"{ref.id}-{ref.sha256[:16]}.duckdb"

    def alias(self, ref: VersionRef) -> str:
        """The attached name of the version's replica, building and attaching it when needed."""
        alias = self._attached.get(ref.id)
        if alias is not None:
            return alias
        path = self._ensure_replica(ref)
        with self._lock:
            alias = self._attached.get(ref.id)
            if alias is None:
                alias = f"r_{ref.id}"
                for db in (self._db, self._bulk):
                    db.execute(f"ATTACH {literal(str(path))} AS {quote(alias)} (READ_ONLY)")
                self._attached[ref.id] = alias
        return alias

    def _ensure_replica(self, ref: VersionRef) -> Path:
        target = self.replica_path(ref)
        if target.exists():
            return target
        with self._lock:
            build_lock = self._builds.setdefault(ref.id, threading.Lock())
        with build_lock:
            if not target.exists():
                self._build(ref, target)
        return target

    def _build(self, ref: VersionRef, target: Path) -> None:
        """Copy the version's Parquet into a DuckDB file beside ``target``, then rename it into
        place: another process building the same replica at once is harmless."""
        temp = self.folder / f".tmp-{uuid.uuid4().hex}.duckdb"
        fetched: Path | None = None
        try:
            source = self.storage.local_path(ref.storage_key)
            if source is None:
                handle, name = tempfile.mkstemp(suffix=".parquet", dir=self.folder)
                os.close(handle)
                fetched = self.storage.fetch(ref.storage_key, Path(name))
                source = fetched
            columns = ", ".join(quote(c) for c in ref.columns)
            con = duckdb.connect(str(temp))
            try:
                con.execute(f"SET threads = {int(self.settings.query_threads)}")
                con.execute(f"SET memory_limit = {literal(self.settings.query_memory_limit)}")
                con.execute(f"CREATE TABLE t AS SELECT file_row_number AS {quote(ROW)}, {columns} "
                            f"FROM read_parquet({literal(str(source))}, file_row_number = true)")
                count = con.execute("SELECT count(*) FROM t").fetchone()
                if count is None or count[0] != ref.rows:
                    raise ReplicaError(_("The stored data of this version is incomplete. The provider has been "
                                         "notified."))
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.replace(temp, target)
        except (duckdb.Error, OSError) as exc:
            raise ReplicaError(_("The data of this version cannot be read right now. Try again later.")) from exc
        finally:
            for leftover in (temp, temp.with_name(temp.name + ".wal"), fetched):
                if leftover is not None and leftover.exists():
                    leftover.unlink()

    # ---- queries --------------------------------------------------------------------------------

    def _cursor(self, bulk: bool) -> duckdb.DuckDBPyConnection:
        name = "bulk" if bulk else "cursor"
        cursor: duckdb.DuckDBPyConnection | None = getattr(self._local, name, None)
        if cursor is None:
            cursor = (self._bulk if bulk else self._db).cursor()
            setattr(self._local, name, cursor)
        return cursor

    def run(self, compiled: Compiled, fetch: Callable[[duckdb.DuckDBPyConnection], T], bulk: bool = False) -> T:
        """Runs one query with the time limit and returns what ``fetch`` reads of its result;
        ``bulk`` for queries that scan a whole version (aggregates), which get several threads."""
        cursor = self._cursor(bulk)
        ticket = self._watchdog.watch(cursor, self.timeout)
        try:
            return fetch(cursor.execute(compiled.text, compiled.params))
        except duckdb.InterruptException:
            raise QueryTimeout(_("The query took longer than %(s)s seconds and was stopped. Add filters or ask "
                                 "for fewer rows.", s=f"{self.timeout:g}")) from None
        finally:
            self._watchdog.done(ticket)

    def fetchall(self, compiled: Compiled, bulk: bool = False) -> list[tuple[Any, ...]]:
        return self.run(compiled, lambda result: result.fetchall(), bulk)

    def scalar(self, compiled: Compiled) -> Any:
        row = self.run(compiled, lambda result: result.fetchone())
        return row[0] if row else None

    def batches(self, compiled: Compiled, batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
        """The result as Arrow batches, for downloads: a cursor of its own, no time limit (a large
        download streams for as long as the client reads)."""
        cursor = self._bulk.cursor()
        try:
            reader = cursor.sql(compiled.text, params=compiled.params).to_arrow_reader(batch_rows)
            yield from reader
        finally:
            cursor.close()

    def close(self) -> None:
        self._db.close()
        self._bulk.close()
