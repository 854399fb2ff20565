"""Sensitive-data detection on every column, vectorised in DuckDB over a sample of values.

The non-empty values of each column in a uniform sample of up to 10 000 rows are checked against
every kind in one GROUP BY query (check digits included, see ``sqlchecks``). A kind is reported when at least
80 % of the sampled values validate, or 50 % with a header hint; kinds too easily matched by
chance (person names) need the hint. Random 18-digit numbers pass the MOD 11-2 check one time in
eleven and rarely carry a real birth date, so an order-number column is not taken for IDs.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest import sqlchecks as q
from kaifang.ingest.desensitise import ColumnRule, Plan, generalise, keep, mask
from kaifang.ingest.engine import connect
from kaifang.ingest.kinds import (
    GRADE_LABELS,
    OPEN_TYPE_LABELS,
    SPECS,
    Grade,
    Kind,
    KindSpec,
    OpenType,
    header_hints,
    most_restrictive_grade,
    most_restrictive_open_type,
)
from kaifang.ingest.masks import mask_value
from kaifang.ingest.sampling import ColumnSampler
from kaifang.ingest.surnames import surname_sql

THRESHOLD = 0.8
HINT_THRESHOLD = 0.5
HINT_BONUS = 0.15
EXAMPLES = 3


def _measures() -> dict[str, str]:
    """Boolean SQL per measure over the normalised sample (t: trimmed, s: no spaces,
    c: no spaces or hyphens, upper case)."""
    surnames, compound = surname_sql()
    bank = q.bank_card_format("c")
    return {
        "resident_id": q.resident_id("c"),
        "uscc": q.uscc("c"),
        "org_code": q.org_code("c"),
        "mobile": q.mobile("c"),
        "landline": q.landline("s"),
        "landline_bare": q.landline("s", bare=True),
        "bank_format": bank,
        "bank_luhn": f"({bank} AND {q.luhn('c')})",
        "plate": q.plate("c"),
        "passport": q.passport("c"),
        "permit": q.travel_permit("c"),
        "permit_hinted": q.travel_permit("c", taiwan=True),
        "email": q.email("t"),
        "ipv4": q.ipv4("t"),
        "person_name": q.person_name("s", surnames, compound),
        "address": q.address("t"),
        "address_hinted": q.address("t", hinted=True),
    }


MEASURES = _measures()
# The measure a kind's share is read from, without and with a header hint.
_MEASURE_OF = {
    Kind.LANDLINE: ("landline", "landline_bare"),
    Kind.ADDRESS: ("address", "address_hinted"),
    Kind.HK_MACAU_PERMIT: ("permit", "permit_hinted"),
    Kind.BANK_CARD: ("bank_format", "bank_format"),
}


@dataclass
class ColumnDetection:
    column: str
    kind: Kind | None = None
    confidence: float = 0.0
    valid_share: float = 0.0
    """Share of the sampled non-empty values that validate as ``kind``."""
    sampled: int = 0
    examples: list[str] = field(default_factory=list)
    """Masked: raw values never leave the detector."""
    header_hint: str | None = None
    grade: Grade = Grade.GENERAL
    open_type: OpenType = OpenType.UNCONDITIONAL
    reason: str | None = None
    shares: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        for key in ("kind", "grade", "open_type"):
            data[key] = str(data[key]) if data[key] is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnDetection:
        found = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        found.kind = Kind(found.kind) if found.kind else None
        found.grade, found.open_type = Grade(found.grade), OpenType(found.open_type)
        return found


@dataclass
class DetectionReport:
    columns: list[ColumnDetection]
    grade: Grade = Grade.GENERAL
    open_type: OpenType = OpenType.UNCONDITIONAL
    reasons: list[str] = field(default_factory=list)

    @property
    def sensitive(self) -> list[ColumnDetection]:
        return [c for c in self.columns if c.kind is not None]

    def get(self, column: str) -> ColumnDetection | None:
        return next((c for c in self.columns if c.column == column), None)

    def as_dict(self) -> dict[str, Any]:
        return {"grade": str(self.grade), "open_type": str(self.open_type),
                "reasons": self.reasons, "columns": [c.as_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DetectionReport:
        """A report kept as JSON (``as_dict``), back as objects."""
        return cls([ColumnDetection.from_dict(c) for c in data.get("columns", [])],
                   Grade(data.get("grade", Grade.GENERAL)), OpenType(data.get("open_type", OpenType.UNCONDITIONAL)),
                   list(data.get("reasons", [])))


def detect_table(table: pa.Table, sample_size: int = 10_000) -> DetectionReport:
    sampler = ColumnSampler(table.column_names, sample_size)
    for batch in table.to_batches():
        sampler.add(batch)
    return detect_samples(sampler.samples())


def detect_samples(samples: Mapping[str, pa.Array], *, threshold: float = THRESHOLD,
                   hint_threshold: float = HINT_THRESHOLD) -> DetectionReport:
    """Detect the kind of each column from its sampled values (strings)."""
    names = list(samples)
    con = connect()
    try:
        _load(con, samples)
        counts = _count(con)
        columns = []
        for index, name in enumerate(names):
            n, hits = counts.get(index, (0, {}))
            shares = {m: round(h / n, 4) for m, h in hits.items()} if n else {}
            found = _decide(name, shares, threshold, hint_threshold)
            found.sampled = n
            found.shares = {k: v for k, v in shares.items() if v >= 0.05}
            if found.kind is not None:
                found.examples = _examples(con, index, found.kind, found.header_hint is not None)
            columns.append(found)
    finally:
        con.close()
    return _summarise(columns)


def _load(con: Any, samples: Mapping[str, pa.Array]) -> None:
    cols, values = [], []
    for index, array in enumerate(samples.values()):
        cols.append(pa.array([index] * len(array), pa.int32()))
        values.append(array.cast(pa.string()))
    table = pa.table({
        "col": pa.concat_arrays(cols) if cols else pa.array([], pa.int32()),
        "value": pa.concat_arrays(values) if values else pa.array([], pa.string()),
    })
    con.register("kf_sample", table)
    con.execute(
        "CREATE TEMP TABLE kf_norm AS SELECT col, t, replace(t, ' ', '') AS s, "
        "upper(regexp_replace(t, '[\\s-]', '', 'g')) AS c "
        "FROM (SELECT col, trim(value) AS t FROM kf_sample) WHERE t <> ''"
    )


def _count(con: Any) -> dict[int, tuple[int, dict[str, int]]]:
    measures = ", ".join(f"count_if({sql}) AS {name}" for name, sql in MEASURES.items())
    rows = con.sql(f"SELECT col, count(*) AS n, {measures} FROM kf_norm GROUP BY col").fetchall()
    return {row[0]: (row[1], dict(zip(MEASURES, row[2:], strict=True))) for row in rows}


def _score(spec: KindSpec, shares: Mapping[str, float], hinted: bool, threshold: float,
           hint_threshold: float) -> tuple[float, float] | None:
    """(valid share, confidence) when the column qualifies as ``spec.kind``, else None."""
    if spec.needs_hint and not hinted:
        return None
    plain, with_hint = _MEASURE_OF.get(spec.kind, (str(spec.kind), str(spec.kind)))
    share = shares.get(with_hint if hinted else plain, 0.0)
    if share < (hint_threshold if hinted else threshold):
        return None
    bonus = HINT_BONUS if hinted else 0.0
    if spec.kind is Kind.BANK_CARD:
        # Luhn is a signal, not a rule: many account numbers fail it, so without a header
        # hint most values must pass it (18-digit order numbers pass one time in ten).
        luhn = shares.get("bank_luhn", 0.0)
        if not hinted and luhn < threshold:
            return None
        passing = luhn / share if share else 0.0
        return share, round(min(1.0, share * (0.6 + 0.35 * passing) + bonus), 3)
    return share, round(min(1.0, spec.strength * share + bonus), 3)


def _decide(column: str, shares: Mapping[str, float], threshold: float,
            hint_threshold: float) -> ColumnDetection:
    hints = header_hints(column)
    best: tuple[float, float, KindSpec] | None = None
    for spec in SPECS:
        scored = _score(spec, shares, spec.kind in hints, threshold, hint_threshold)
        if scored and (best is None or scored[1] > best[1]):
            best = (scored[1], scored[0], spec)
    if best is None:
        return ColumnDetection(column)
    confidence, share, spec = best
    return ColumnDetection(
        column, spec.kind, confidence, share, header_hint=hints.get(spec.kind),
        grade=spec.grade, open_type=spec.open_type, reason=column_reason(column, spec, share),
    )


def column_reason(column: str, spec: KindSpec, share: float) -> str:
    return _("%(column)s: %(kind)s, %(share)s%% valid → %(grade)s → %(open_type)s",
             column=column, kind=_(spec.label), share=round(share * 100),
             grade=_(GRADE_LABELS[spec.grade]), open_type=_(OPEN_TYPE_LABELS[spec.open_type]))


def _examples(con: Any, index: int, kind: Kind, hinted: bool) -> list[str]:
    plain, with_hint = _MEASURE_OF.get(kind, (str(kind), str(kind)))
    condition = MEASURES[with_hint if hinted else plain]
    rows = con.execute(
        f"SELECT t FROM kf_norm WHERE col = $col AND {condition} LIMIT {EXAMPLES}", {"col": index}
    ).fetchall()
    return [mask_value(kind, row[0]) for row in rows]


def _summarise(columns: list[ColumnDetection]) -> DetectionReport:
    flagged = [c for c in columns if c.kind is not None]
    return DetectionReport(
        columns,
        grade=most_restrictive_grade([c.grade for c in flagged]),
        open_type=most_restrictive_open_type([c.open_type for c in flagged]),
        reasons=[c.reason for c in flagged if c.reason],
    )


_SUGGESTED: dict[Kind, ColumnRule] = {
    Kind.USCC: keep(),
    Kind.ORG_CODE: keep(),
    Kind.ADDRESS: generalise("district"),
}


def suggest_plan(report: DetectionReport) -> Plan:
    """A starting plan for the provider to confirm: mask personal identifiers, cut addresses to
    the district, keep legal-entity codes."""
    rules: dict[str, ColumnRule] = {}
    for found in report.sensitive:
        assert found.kind is not None
        rules[found.column] = _SUGGESTED.get(found.kind, mask(found.kind))
    return Plan(rules)
