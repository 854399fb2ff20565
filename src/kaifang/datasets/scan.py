"""The first look at an upload: read every row once, validate, sample, detect — write nothing.

This is what the provider confirms a plan against. It is the reading half of ``ingest_file``
(the same reader, validator, sampler and detector), without the Parquet file and the profile:
the raw values are not copied anywhere, and the profile is computed on the version itself, after
desensitisation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest import DataItem, DetectionReport, Limits, Plan, ValidationReport, detect_samples, open_table
from kaifang.ingest.detect import suggest_plan
from kaifang.ingest.sampling import ColumnSampler
from kaifang.ingest.validate import Validator

Progress = Callable[[int, float], None]


@dataclass
class ScanReport:
    rows: int
    schema: list[tuple[str, str]]
    source: dict[str, Any]
    detection: DetectionReport
    suggested_plan: Plan
    validation: ValidationReport | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "schema": [list(s) for s in self.schema], "source": self.source,
            "detection": self.detection.as_dict(), "suggested_plan": self.suggested_plan.as_dict(),
            "validation": self.validation.as_dict() if self.validation else None,
            "warnings": self.warnings,
        }


def scan_file(path: Path, *, name: str | None, declared_items: Sequence[DataItem], limits: Limits,
              progress: Progress | None = None) -> ScanReport:
    with open_table(path, name=name, limits=limits) as reader:
        validator = Validator(declared_items, reader.columns) if declared_items else None
        try:
            if validator:
                validator.check_columns()
            schema: pa.Schema = validator.schema if validator else reader.schema
            sampler = ColumnSampler(schema.names)
            rows = 0
            for batch in reader:
                typed = validator(batch, rows) if validator else batch
                sampler.add(typed)
                rows += typed.num_rows
                if progress:
                    progress(rows, round(reader.fraction() * 100, 1))
        finally:
            if validator:
                validator.close()
        info = dict(reader.info)
    detection = detect_samples(sampler.samples())
    report = validator.report if validator else None
    return ScanReport(rows, [(f.name, str(f.type)) for f in schema], info, detection,
                      suggest_plan(detection), report, _warnings(report))


def _warnings(report: ValidationReport | None) -> list[str]:
    """The notes ``ingest_file`` gives for the same findings (same messages)."""
    if report is None:
        return []
    notes = []
    if report.extra:
        notes.append(_("Columns not among the declared data items: %(columns)s",
                       columns="、".join(report.extra)))
    if report.problem_count:
        notes.append(_("%(count)s values do not fit their declared type and were left empty.",
                       count=report.problem_count))
    return notes
