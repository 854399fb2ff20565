"""Desensitisation plans (脱敏): what happens to each column, compiled into one DuckDB SELECT.

The plan runs inside the engine over the stream of record batches: masks and generalisations are
string functions, keyed pseudonyms are HMAC-SHA256 written with DuckDB's ``sha256`` over byte
strings (``H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m))``), so no Python runs per row.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import duckdb
import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest import sqlchecks as q
from kaifang.ingest.engine import connect
from kaifang.ingest.errors import Code, IngestError
from kaifang.ingest.kinds import Kind
from kaifang.ingest.masks import mask_sql

DISTRICT_PATTERN = (
    "^([^镇乡路街道号村]{0,12}?(省|自治区))?([^镇乡路街道号村]{0,10}?(市|自治州|地区|盟))?"
    "([^镇乡路街道号村]{0,10}?(区|县|旗|市))?"
)
LEVELS = ("year", "month", "band", "district", "birth_year")
HMAC_BLOCK = 64


class Action(StrEnum):
    KEEP = "keep"
    DROP = "drop"
    MASK = "mask"
    PSEUDONYM = "pseudonym"
    GENERALISE = "generalise"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class ColumnRule:
    action: Action = Action.KEEP
    kind: Kind | None = None
    """Masking convention (defaults per kind, see ``masks``)."""
    head: int | None = None
    tail: int | None = None
    length: int = 16
    """Hex characters kept of a pseudonym (16 = 64 bits)."""
    level: str | None = None
    """Generalisation: year, month (dates), band (numbers), district (addresses),
    birth_year (resident IDs)."""
    width: float | None = None
    """Band width for ``level="band"``."""

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, StrEnum) else v) for k, v in asdict(self).items()
                if v is not None}


def keep() -> ColumnRule:
    return ColumnRule(Action.KEEP)


def drop() -> ColumnRule:
    return ColumnRule(Action.DROP)


def suppress() -> ColumnRule:
    return ColumnRule(Action.SUPPRESS)


def mask(kind: Kind | str | None = None, *, head: int | None = None,
         tail: int | None = None) -> ColumnRule:
    return ColumnRule(Action.MASK, kind=Kind(kind) if kind else None, head=head, tail=tail)


def pseudonym(length: int = 16) -> ColumnRule:
    return ColumnRule(Action.PSEUDONYM, length=length)


def generalise(level: str, width: float | None = None) -> ColumnRule:
    return ColumnRule(Action.GENERALISE, level=level, width=width)


@dataclass(frozen=True)
class KAnonymity:
    quasi_identifiers: tuple[str, ...]
    k: int = 5
    suppress: bool = False
    """Drop rows whose equivalence class (after the column rules) is smaller than ``k``."""


@dataclass(frozen=True)
class Plan:
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    k_anonymity: KAnonymity | None = None

    def rule(self, name: str) -> ColumnRule:
        return self.columns.get(name, ColumnRule())

    def as_dict(self) -> dict[str, Any]:
        kanon = asdict(self.k_anonymity) if self.k_anonymity else None
        return {"columns": {n: r.as_dict() for n, r in self.columns.items()},
                "k_anonymity": kanon}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        columns = {}
        for name, raw in (data.get("columns") or {}).items():
            rule = dict(raw)
            rule["action"] = Action(rule.get("action", "keep"))
            if rule.get("kind"):
                rule["kind"] = Kind(rule["kind"])
            columns[name] = ColumnRule(**rule)
        kanon = data.get("k_anonymity")
        k_anonymity = None
        if kanon:
            k_anonymity = KAnonymity(tuple(kanon["quasi_identifiers"]), int(kanon.get("k", 5)),
                                     bool(kanon.get("suppress", False)))
        return cls(columns, k_anonymity)


def _invalid(message: str, **detail: Any) -> IngestError:
    return IngestError(Code.INVALID_PLAN, message, detail)


def check_plan(plan: Plan, columns: Iterable[str], *, secret: bytes | str | None) -> None:
    """Refuse a plan naming unknown columns, missing parameters or a needed secret."""
    names = set(columns)
    for name, rule in plan.columns.items():
        if name not in names:
            raise _invalid(_("The plan names an unknown column: %(column)s", column=name),
                           column=name)
        if rule.action is Action.GENERALISE and rule.level not in LEVELS:
            raise _invalid(_("Unknown generalisation for %(column)s.", column=name), column=name)
        if rule.level == "band" and not (rule.width and rule.width > 0):
            raise _invalid(_("A band needs a positive width (%(column)s).", column=name),
                           column=name)
        if rule.action is Action.PSEUDONYM and not secret:
            raise _invalid(_("Pseudonyms need a secret key."), column=name)
    kanon = plan.k_anonymity
    if kanon:
        dropped = {n for n, r in plan.columns.items() if r.action is Action.DROP}
        bad = [c for c in kanon.quasi_identifiers if c not in names or c in dropped]
        if bad or kanon.k < 2 or not kanon.quasi_identifiers:
            raise _invalid(_("The k-anonymity settings name unknown or dropped columns, or k < 2."),
                           columns=bad)


def hmac_pads(secret: bytes | str) -> tuple[bytes, bytes]:
    """The inner and outer HMAC keys (RFC 2104) for SHA-256."""
    key = secret.encode() if isinstance(secret, str) else secret
    if len(key) > HMAC_BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(HMAC_BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_value(secret: bytes | str, value: str, length: int = 16) -> str:
    """The Python twin of the SQL pseudonym (for tests and single lookups)."""
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()[:length]


def set_secret(con: duckdb.DuckDBPyConnection, secret: bytes | str | None) -> None:
    """Keep the key in connection variables, out of the SQL text (and so out of any log)."""
    if secret:
        inner, outer = hmac_pads(secret)
        con.execute("SET VARIABLE kf_ipad = $k", {"k": inner})
        con.execute("SET VARIABLE kf_opad = $k", {"k": outer})


def _text(col: str, dtype: pa.DataType) -> str:
    return col if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) \
        else f"CAST({col} AS VARCHAR)"


def _generalise_sql(rule: ColumnRule, col: str, dtype: pa.DataType) -> str:
    level = rule.level
    if level in ("year", "month"):
        fmt = "%Y" if level == "year" else "%Y-%m"
        temporal = pa.types.is_temporal(dtype)
        moment = col if temporal else q.parse_datetime(f"trim({col})")
        return f"strftime({moment}, '{fmt}')"
    if level == "band":
        width = rule.width or 1
        number = col if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) \
            else q.parse_number(f"trim({_text(col, dtype)})")
        low = f"(floor({number} / {width!r}) * {width!r})"
        high = f"({low} + {width!r})"
        as_text = (lambda x: f"CAST(CAST({x} AS BIGINT) AS VARCHAR)") if float(width).is_integer() \
            else (lambda x: f"CAST({x} AS VARCHAR)")
        return f"('[' || {as_text(low)} || ', ' || {as_text(high)} || ')')"
    if level == "district":
        cut = f"regexp_extract(trim({_text(col, dtype)}), '{DISTRICT_PATTERN}', 0)"
        return f"nullif({cut}, '')"
    # birth_year: the 4-digit year inside an 18- or 15-digit resident ID
    c = f"upper(regexp_replace(trim({_text(col, dtype)}), '[\\s-]', '', 'g'))"
    return (f"(CASE WHEN length({c}) = 18 THEN substr({c}, 7, 4) "
            f"WHEN length({c}) = 15 THEN '19' || substr({c}, 7, 2) END)")


def rule_sql(rule: ColumnRule, name: str, dtype: pa.DataType) -> str | None:
    """The SELECT expression for one column, or None when it is dropped."""
    col = q.quote(name)
    if rule.action is Action.DROP:
        return None
    if rule.action is Action.KEEP:
        expr = col
    elif rule.action is Action.SUPPRESS:
        expr = f"(CASE WHEN false THEN {col} END)"  # NULL of the column's own type
    elif rule.action is Action.MASK:
        expr = mask_sql(rule.kind, _text(col, dtype), rule.head, rule.tail)
    elif rule.action is Action.PSEUDONYM:
        inner = f"unhex(sha256(getvariable('kf_ipad') || encode(trim({_text(col, dtype)}))))"
        expr = f"left(sha256(getvariable('kf_opad') || {inner}), {int(rule.length)})"
    else:
        expr = _generalise_sql(rule, col, dtype)
    return f"{expr} AS {col}"


def plan_sql(plan: Plan, schema: pa.Schema, source: str) -> str:
    """One SELECT applying ``plan`` to ``source``; k-anonymity suppression as a window filter."""
    exprs = [rule_sql(plan.rule(f.name), f.name, f.type) for f in schema]
    select = f"SELECT {', '.join(e for e in exprs if e)} FROM {source}"
    kanon = plan.k_anonymity
    if kanon and kanon.suppress:
        keys = ", ".join(q.quote(c) for c in kanon.quasi_identifiers)
        select = (f"SELECT * FROM ({select}) AS kf_planned "
                  f"QUALIFY count(*) OVER (PARTITION BY {keys}) >= {int(kanon.k)}")
    return select


class BatchPlan:
    """The column rules of a plan as a function over record batches (k-anonymity suppression,
    which needs every row, is applied separately).

    Only the columns a rule changes go through the engine; kept columns pass through as the same
    Arrow arrays (converting them to and from DuckDB would cost more than the rules themselves).
    """

    def __init__(self, plan: Plan, schema: pa.Schema, secret: bytes | str | None) -> None:
        self._names = [n for n in schema.names if plan.rule(n).action is not Action.DROP]
        changed = [f for f in schema if plan.rule(f.name).action not in (Action.KEEP, Action.DROP)]
        self.changes = bool(changed)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._changed: dict[str, pa.DataType] = {}
        if changed:
            # One thread per batch: batches run side by side instead (see ParallelRules).
            self._con = connect(threads=1)
            set_secret(self._con, secret)
            exprs = [rule_sql(plan.rule(f.name), f.name, f.type) for f in changed]
            self._sql = f"SELECT {', '.join(e for e in exprs if e)} FROM kf_batch"
            probe = self._run(pa.schema(changed).empty_table())
            self._changed = {f.name: f.type for f in probe.schema}
        self.schema = pa.schema([
            pa.field(n, self._changed.get(n, schema.field(n).type)) for n in self._names
        ])

    def _run(self, data: pa.Table) -> pa.Table:
        assert self._con is not None
        self._con.register("kf_batch", data)
        try:
            return self._con.sql(self._sql).to_arrow_table()
        finally:
            self._con.unregister("kf_batch")

    def __call__(self, data: pa.RecordBatch | pa.Table) -> pa.Table:
        table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
        changed = self._run(table.select(list(self._changed))) if self._changed else None
        columns = [
            changed.column(n).cast(self._changed[n]) if changed is not None and n in self._changed
            else table.column(n)
            for n in self._names
        ]
        return pa.Table.from_arrays(columns, schema=self.schema)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()


class ParallelRules:
    """A plan's column rules over a stream of batches on ``workers`` threads, in order.

    DuckDB releases the GIL while it runs, so the rules of some batches (keyed hashes above all)
    run while the caller reads the next batch and writes the previous one. Each thread has its
    own ``BatchPlan`` (a DuckDB connection serves one query at a time); at most ``workers + 1``
    batches are in flight, so memory stays bounded.
    """

    def __init__(self, plan: Plan, schema: pa.Schema, secret: bytes | str | None, workers: int) -> None:
        self.plan, self.source_schema, self.secret = plan, schema, secret
        self.first = BatchPlan(plan, schema, secret)
        self.schema = self.first.schema
        self.workers = workers if self.first.changes else 0
        self._local = threading.local()
        self._all = [self.first]
        self._lock = threading.Lock()

    def _rules(self) -> BatchPlan:
        rules: BatchPlan | None = getattr(self._local, "rules", None)
        if rules is None:
            rules = BatchPlan(self.plan, self.source_schema, self.secret)
            with self._lock:
                self._all.append(rules)
            self._local.rules = rules
        return rules

    def _apply(self, batch: pa.RecordBatch) -> pa.Table:
        return self._rules()(batch)

    def map(self, batches: Iterable[pa.RecordBatch]) -> Generator[pa.Table, None, None]:
        if self.workers < 1:
            yield from (self.first(batch) for batch in batches)
            return
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="kf-rules")
        pending: deque[Future[pa.Table]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(self._apply, batch))
                if len(pending) > self.workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        for rules in self._all:
            rules.close()


def apply_plan(
    data: pa.Table | pa.RecordBatchReader | Iterable[pa.RecordBatch],
    plan: Plan,
    *,
    secret: bytes | str | None = None,
    schema: pa.Schema | None = None,
    batch_rows: int = 65_536,
) -> pa.RecordBatchReader:
    """Apply ``plan`` to a table or a stream of batches; returns a stream of result batches."""
    if isinstance(data, pa.Table):
        schema = data.schema
        reader = pa.RecordBatchReader.from_batches(schema, data.to_batches())
    elif isinstance(data, pa.RecordBatchReader):
        reader, schema = data, data.schema
    else:
        if schema is None:
            raise ValueError("a schema is needed for a plain iterable of batches")
        reader = pa.RecordBatchReader.from_batches(schema, iter(data))
    check_plan(plan, schema.names, secret=secret)
    con = connect()
    set_secret(con, secret)
    con.register("kf_source", reader)
    result = con.sql(plan_sql(plan, schema, "kf_source")).to_arrow_reader(batch_rows)
    return pa.RecordBatchReader.from_batches(result.schema, _owning(con, result))


def _owning(con: duckdb.DuckDBPyConnection, reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """Keep the connection alive while the result is read, and close it afterwards."""
    try:
        yield from reader
    finally:
        con.close()
