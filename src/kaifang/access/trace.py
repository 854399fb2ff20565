"""Leak tracing (LYG 26): which grant a leaked file of conditional data came from.

1. A byte-identical copy is named at once: the access log keeps the SHA-256 of every file served
   (confidence 1).
2. Otherwise the file is read (CSV in any encoding, XLSX, JSON, Parquet) and its columns whose
   values look like per-grant pseudonyms (16 hex characters) are collected. Each grant that
   received data of the dataset has its own pseudonym key (``scope.grant_secret``): the grant's
   pseudonyms of the source identifier values are computed by the engine over the version
   replicas it received — the very view served to it (``sql.scoped_sql``) — and a sample of the
   leaked values is looked up among them. A subset, reordered, with columns dropped, still
   matches exactly one grant.

The confidence of a match is 1 − P(that many sampled values match by chance). A pseudonym is 64
bits, so a value not from grant g lands among g's m pseudonyms with probability m / 2⁶⁴; the
chance of k matches among n sampled values is at most C(n, k)·(m / 2⁶⁴)ᵏ.
"""

# ruff: noqa: S608 - SQL text is built from quote()-escaped names; values are bound parameters
from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kaifang.access.columns import Column, columns_of
from kaifang.access.engine import QueryEngine
from kaifang.access.models import AccessLog, Grant
from kaifang.access.query import Condition, condition_from_dict
from kaifang.access.scope import grant_secret, identifier_columns, version_ref
from kaifang.access.sql import Compiled, ScopeSpec, Sql, quote, scoped_sql
from kaifang.auth.models import User
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import OpenType
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion
from kaifang.errors import InvalidParameter, NotFound
from kaifang.i18n import _
from kaifang.ingest import open_table
from kaifang.ingest.desensitise import hmac_pads

PSEUDONYM_PATTERN = "^[0-9a-f]{16}$"
# A column is taken for pseudonyms when this share of its values looks like one.
PSEUDONYM_SHARE = 0.9
SAMPLE_SIZE = 2000
MAX_VALUES_PER_COLUMN = 1_000_000
# A grant is named when chance explains its matches with a probability below one in a thousand.
NAME_CONFIDENCE = 0.999
LOG10_SPACE = 64 * math.log10(2)
PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class ExactMatch:
    """A download whose bytes are exactly the file's."""

    log: AccessLog
    user: User | None
    grant: Grant | None


@dataclass(frozen=True)
class GrantMatch:
    grant: Grant
    matched: int
    sampled: int
    universe: int
    """Distinct pseudonyms of the grant's identifier columns in the versions it received."""
    log10_chance: float
    """log10 of the upper bound on the probability of ``matched`` chance matches (≤ 0)."""

    @property
    def share(self) -> float:
        return self.matched / self.sampled if self.sampled else 0.0

    @property
    def confidence(self) -> float:
        return max(0.0, 1.0 - 10 ** self.log10_chance)


@dataclass
class TraceReport:
    file: Path
    sha256: str
    exact: list[ExactMatch] = field(default_factory=list)
    pseudonym_columns: dict[str, int] = field(default_factory=dict)
    """Columns of the file read as pseudonyms, with their number of distinct values."""
    sampled: int = 0
    grants_considered: int = 0
    matches: list[GrantMatch] = field(default_factory=list)
    """Every grant that received data, the best match first."""

    @property
    def named(self) -> list[GrantMatch]:
        return [m for m in self.matches if m.matched and m.confidence >= NAME_CONFIDENCE]

    @property
    def traced(self) -> bool:
        return bool(self.exact or self.named)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def exact_matches(session: Session, sha256: str) -> list[ExactMatch]:
    rows = list(session.scalars(select(AccessLog).where(AccessLog.sha256 == sha256).order_by(AccessLog.at)))
    return [ExactMatch(row, session.get(User, row.user_id) if row.user_id else None,
                       session.get(Grant, row.grant_id) if row.grant_id else None) for row in rows]


# ---- reading the leaked file ------------------------------------------------------------------

def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    with path.open("rb") as fh:
        parquet = fh.read(4) == PARQUET_MAGIC
    if parquet:
        yield from pq.ParquetFile(path).iter_batches()
        return
    with open_table(path) as reader:
        yield from reader


def pseudonym_values(path: Path) -> dict[str, set[str]]:
    """The distinct values of each column that holds pseudonyms (≥ 90 % of its values)."""
    seen: dict[str, list[int]] = {}
    values: dict[str, set[str]] = {}
    for batch in _batches(path):
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            text = pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string())))
            present = pc.drop_null(text)
            present = present.filter(pc.not_equal(present, ""))
            hits = present.filter(pc.match_substring_regex(present, PSEUDONYM_PATTERN))
            counts = seen.setdefault(name, [0, 0])
            counts[0] += len(present)
            counts[1] += len(hits)
            bucket = values.setdefault(name, set())
            if len(bucket) < MAX_VALUES_PER_COLUMN:
                bucket.update(hits.to_pylist())
    return {name: values[name] for name, (total, hits) in seen.items()
            if hits and hits >= PSEUDONYM_SHARE * total}


def sample_of(columns: dict[str, set[str]], seed: str, size: int = SAMPLE_SIZE) -> list[str]:
    """A reproducible random sample of the leaked pseudonyms (seeded by the file's hash)."""
    pool = sorted(set().union(*columns.values())) if columns else []
    if len(pool) <= size:
        return pool
    return random.Random(int(seed[:16], 16)).sample(pool, size)  # noqa: S311 - a sample, not a secret


# ---- candidates and matching ------------------------------------------------------------------

def _entry(session: Session, name: str) -> CatalogEntry:
    entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == name)).first()
    if entry is None:
        raise NotFound(_("No such dataset."))
    return entry


def candidate_grants(session: Session, entry_name: str | None) -> tuple[int, list[tuple[Grant, list[str]]]]:
    """How many grants the dataset (or every conditional dataset) has, and those that received
    data, each with the versions it received."""
    grants = select(Grant).join(CatalogEntry, CatalogEntry.id == Grant.entry_id)
    if entry_name is not None:
        grants = grants.where(Grant.entry_id == _entry(session, entry_name).id)
    else:
        grants = grants.where(CatalogEntry.open_type == OpenType.CONDITIONAL)
    every = list(session.scalars(grants.order_by(Grant.created_at, Grant.id)))
    received: dict[str, set[str]] = {}
    if every:
        stmt = (select(AccessLog.grant_id, AccessLog.version_id).distinct()
                .where(AccessLog.grant_id.in_([g.id for g in every]), AccessLog.version_id.is_not(None),
                       or_(AccessLog.rows > 0, AccessLog.bytes > 0)))
        for grant_id, version_id in session.execute(stmt):
            if grant_id and version_id:
                received.setdefault(grant_id, set()).add(version_id)
    return len(every), [(g, sorted(received[g.id])) for g in every if g.id in received]


def _row_filter(grant: Grant, columns: list[Column]) -> tuple[Condition, ...]:
    """The grant's rows; a filter that no longer fits the version is left out (more rows can only
    lower the confidence, never name a wrong grant)."""
    by_name = {c.name: c for c in columns}
    try:
        return tuple(condition_from_dict(cond, by_name) for cond in grant.row_filter or ())
    except InvalidParameter:
        return ()


def _served_identifiers(grant: Grant, version: DatasetVersion) -> tuple[list[Column], list[Column]]:
    """All columns of the version, and the identifier columns the grant received as pseudonyms."""
    columns = columns_of(version.schema)
    identifiers = identifier_columns(grant.entry, version)
    allowed = set(grant.columns or ())
    served = [Column(c.name, c.kind, c.title, True) for c in columns if c.name in allowed and c.name in identifiers]
    return columns, served


def match_sql(engine: QueryEngine, settings: Settings, grant: Grant, versions: list[DatasetVersion],
              sample: list[str]) -> Compiled | None:
    """One query: the number of distinct pseudonyms the grant was served, and how many of the
    sampled values are among them (None when the grant received no identifier column)."""
    sql = Sql()
    pads = hmac_pads(grant_secret(settings, grant.id))
    scopes, selects = [], []
    for i, version in enumerate(versions):
        columns, served = _served_identifiers(grant, version)
        if not served:
            continue
        spec = ScopeSpec(engine.alias(version_ref(version)), tuple(served), _row_filter(grant, columns), pads)
        scopes.append(f"s{i} AS ({scoped_sql(spec, sql)})")
        selects += [f"SELECT {quote(c.name)} AS v FROM s{i}" for c in served]
    if not selects:
        return None
    union = " UNION ".join(selects)
    text = (f"WITH {', '.join(scopes)}, p AS (SELECT DISTINCT v FROM ({union}) WHERE v IS NOT NULL), "
            f"q AS (SELECT DISTINCT unnest({sql.bind(sample)}::VARCHAR[]) AS s) "
            "SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM p JOIN q ON p.v = q.s)")
    return Compiled(text, sql.params)


def log10_chance(matched: int, sampled: int, universe: int) -> float:
    """log10 of C(n, k)·pᵏ with p = m / 2⁶⁴: an upper bound on P(≥ k chance matches)."""
    if matched == 0 or universe == 0:
        return 0.0
    log10_p = math.log10(universe) - LOG10_SPACE
    log10_choose = (math.lgamma(sampled + 1) - math.lgamma(matched + 1)
                    - math.lgamma(sampled - matched + 1)) / math.log(10)
    return min(0.0, log10_choose + matched * log10_p)


def match_grant(session: Session, settings: Settings, engine: QueryEngine, grant: Grant, version_ids: list[str],
                sample: list[str]) -> GrantMatch:
    versions = [v for v in (session.get(DatasetVersion, vid) for vid in version_ids) if v is not None]
    compiled = match_sql(engine, settings, grant, versions, sample)
    universe, matched = (0, 0)
    if compiled is not None and sample:
        row = engine.fetchall(compiled)[0]
        universe, matched = int(row[0]), int(row[1])
    return GrantMatch(grant, matched, len(sample), universe, log10_chance(matched, len(sample), universe))


def trace_file(session: Session, settings: Settings, engine: QueryEngine, path: Path,
               entry_name: str | None = None) -> TraceReport:
    """Names the download or the grant ``path`` came from, the best match first."""
    exact = exact_matches(session, file_sha256(path))
    if exact:
        return TraceReport(path, exact[0].log.sha256, exact)
    return match_file(session, settings, engine, path, entry_name)


def match_file(session: Session, settings: Settings, engine: QueryEngine, path: Path,
               entry_name: str | None = None) -> TraceReport:
    """The pseudonym step alone: every grant that received data, with its share of matches."""
    report = TraceReport(path, file_sha256(path))
    columns = pseudonym_values(path)
    report.pseudonym_columns = {name: len(values) for name, values in columns.items()}
    sample = sample_of(columns, report.sha256)
    report.sampled = len(sample)
    report.grants_considered, candidates = candidate_grants(session, entry_name)
    if not sample:
        return report
    matches = [match_grant(session, settings, engine, grant, versions, sample) for grant, versions in candidates]
    report.matches = sorted(matches, key=lambda m: (-m.matched, m.log10_chance, m.grant.created_at))
    return report


# ---- the command's report ---------------------------------------------------------------------

def confidence_text(match: GrantMatch) -> str:
    """1.0 − 10⁻¹⁵⁰⁰ reads better as “1 − 1e-1500” than as a rounded 1.0."""
    if match.log10_chance < -6:
        return f"1 - 1e{math.ceil(match.log10_chance)}"
    return f"{match.confidence:.6g}"


def _grant_words(grant: Grant) -> str:
    return (f"grant {grant.id} (dataset {grant.entry.name}, user {grant.user.username}, "
            f"{grant.valid_from.isoformat()} – {grant.valid_until.isoformat()}, {grant.status})")


def report_lines(report: TraceReport) -> list[str]:
    lines = [f"file    {report.file}", f"sha256  {report.sha256}"]
    for found in report.exact:
        row = found.log
        who = found.user.username if found.user else f"anonymous at {row.client_ip or 'unknown address'}"
        grant = _grant_words(found.grant) if found.grant else "open data, no grant"
        lines.append(f"EXACT COPY of access log row {row.id}: {row.channel} {row.format} at {row.at.isoformat()} "
                     f"to {who}; {grant}; confidence 1.0")
    if report.exact:
        return lines
    lines.append("no download served exactly these bytes")
    if not report.pseudonym_columns:
        lines.append("NOT TRACED: the file has no column of per-grant pseudonyms (16 hex characters)")
        return lines
    columns = ", ".join(f"{name} ({n} values)" for name, n in report.pseudonym_columns.items())
    lines.append(f"pseudonym columns: {columns}; {report.sampled} values sampled")
    lines.append(f"grants considered: {report.grants_considered}; received data: {len(report.matches)}")
    for rank, match in enumerate(report.matches, 1):
        lines.append(f"  {rank:>3}. {_grant_words(match.grant)}: {match.matched}/{match.sampled} matched "
                     f"({match.share:.1%}), confidence {confidence_text(match)}")
    if report.named:
        lines += [f"NAMED: {_grant_words(m.grant)}, confidence {confidence_text(m)}" for m in report.named]
    else:
        lines.append("NOT TRACED: no grant's pseudonyms match the file's values")
    return lines


def report_dict(report: TraceReport) -> dict[str, object]:
    def grant_dict(grant: Grant | None) -> dict[str, object] | None:
        if grant is None:
            return None
        return {"id": grant.id, "dataset": grant.entry.name, "user": grant.user.username, "status": grant.status,
                "valid_from": grant.valid_from.isoformat(), "valid_until": grant.valid_until.isoformat()}

    return {
        "file": str(report.file), "sha256": report.sha256, "traced": report.traced,
        "exact": [{"access_log": e.log.id, "at": e.log.at.isoformat(), "channel": e.log.channel,
                   "format": e.log.format, "user": e.user.username if e.user else None,
                   "client_ip": e.log.client_ip, "grant": grant_dict(e.grant), "confidence": 1.0}
                  for e in report.exact],
        "pseudonym_columns": report.pseudonym_columns, "sampled": report.sampled,
        "grants_considered": report.grants_considered,
        "matches": [{"grant": grant_dict(m.grant), "matched": m.matched, "sampled": m.sampled,
                     "share": m.share, "universe": m.universe, "confidence": m.confidence,
                     "log10_chance": m.log10_chance, "named": m in report.named} for m in report.matches],
    }
