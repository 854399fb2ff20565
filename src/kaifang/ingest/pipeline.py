"""``ingest_file``: read → validate → sample → desensitise → one Parquet file, then profile.

The file is streamed once: batches flow from the reader through validation, sampling and the
plan's column rules (a DuckDB SELECT per batch, several batches at a time) into a Parquet
writer. The result is written under a temporary name, fsynced and renamed into place, so readers
see the whole file or none; on any failure the temporary file is deleted. Profiling, hashing and
the k-anonymity measure read the written file (what will be published), so raw values of
desensitised columns never reach a report.
"""

# ruff: noqa: S608 - SQL text is built from quote()/literal()-escaped names and constants
from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kaifang.i18n import _
from kaifang.ingest.base import TableReader
from kaifang.ingest.desensitise import Action, KAnonymity, ParallelRules, Plan, check_plan
from kaifang.ingest.detect import DetectionReport, detect_samples, suggest_plan
from kaifang.ingest.engine import connect
from kaifang.ingest.errors import Code, IngestError
from kaifang.ingest.kanon import KAnonymityReport, k_anonymity
from kaifang.ingest.kinds import Grade, Kind
from kaifang.ingest.limits import Limits
from kaifang.ingest.masks import mask_value
from kaifang.ingest.profile import TableProfile, profile_table
from kaifang.ingest.readers import open_table
from kaifang.ingest.sampling import ColumnSampler
from kaifang.ingest.sqlchecks import literal, quote
from kaifang.ingest.validate import DataItem, ValidationReport, Validator

Progress = Callable[[int, float], None]
COMPRESSION = "zstd"
IDENTIFIER_KINDS = {k for k in Kind if k not in (Kind.PERSON_NAME, Kind.ADDRESS)}
# Threads applying the column rules beside the reading and writing thread (one per core, up to 4).
RULE_WORKERS = min(4, os.cpu_count() or 1)


@dataclass
class IngestResult:
    path: Path
    rows: int
    schema: list[tuple[str, str]]
    sha256: str
    size_bytes: int
    source: dict[str, Any]
    profile: TableProfile | None
    detection: DetectionReport
    plan: Plan
    suggested_plan: Plan
    validation: ValidationReport | None = None
    k_anonymity: KAnonymityReport | None = None
    rows_read: int = 0
    rows_suppressed: int = 0
    warnings: list[str] = field(default_factory=list)
    output_sample: pa.Table | None = field(default=None, repr=False)
    """The sampled rows as written (what ``profile_output`` needs to skip a sampling scan)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe, for the job record."""
        return {
            "path": str(self.path), "rows": self.rows, "schema": self.schema,
            "sha256": self.sha256, "size_bytes": self.size_bytes, "source": self.source,
            "profile": self.profile.as_dict() if self.profile else None,
            "detection": self.detection.as_dict(),
            "plan": self.plan.as_dict(), "suggested_plan": self.suggested_plan.as_dict(),
            "validation": self.validation.as_dict() if self.validation else None,
            "k_anonymity": self.k_anonymity.as_dict() if self.k_anonymity else None,
            "rows_read": self.rows_read, "rows_suppressed": self.rows_suppressed,
            "warnings": self.warnings,
        }


class _Feed:
    """The batch stream: validated, sampled for detection, counted for progress.

    Detection starts on a thread of its own as soon as the last batch is read, while the last
    batches are still being desensitised and written.
    """

    def __init__(self, reader: TableReader, validator: Validator | None, sampler: ColumnSampler,
                 progress: Progress | None) -> None:
        self.reader, self.validator, self.sampler = reader, validator, sampler
        self.progress = progress
        self.rows = 0
        self.output_sample: pa.Table | None = None
        self._detector = ThreadPoolExecutor(1, thread_name_prefix="kf-detect")
        self._detection: Future[DetectionReport] | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self.reader:
            typed = self.validator(batch, self.rows) if self.validator else batch
            self.sampler.add(typed)
            self.rows += typed.num_rows
            if self.progress:
                self.progress(self.rows, round(self.reader.fraction() * 100, 1))
            yield typed
        self._detection = self._detector.submit(detect_samples, self.sampler.samples())

    def detection(self) -> DetectionReport:
        if self._detection is None:
            self._detection = self._detector.submit(detect_samples, self.sampler.samples())
        return self._detection.result()

    def close(self) -> None:
        self._detector.shutdown(wait=True, cancel_futures=True)


def ingest_file(
    path: str | Path,
    *,
    declared_items: Sequence[DataItem] | None = None,
    plan: Plan | None = None,
    secret: bytes | str | None,
    out_dir: str | Path,
    progress: Progress | None = None,
    name: str | None = None,
    out_name: str = "data.parquet",
    sheet: str | int | None = None,
    limits: Limits = Limits(),
    strict: bool = False,
    sample_size: int = 10_000,
    memory_limit: str = "1GB",
    reader: TableReader | None = None,
    profile: bool = True,
) -> IngestResult:
    """Ingest ``path`` into ``out_dir/out_name``.

    ``plan=None`` keeps every column as read (a staging run whose ``suggested_plan`` the provider
    confirms); ``strict`` fails on any value that does not fit its declared type instead of
    storing NULL and reporting it. ``reader`` replaces the reader opened from ``path``.
    ``profile=False`` leaves the profile to the caller (``profile_output`` with the result's
    ``output_sample``), who may make the file available first.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = out / out_name
    token = uuid.uuid4().hex
    temp = out / f".{out_name}.{token}.tmp"
    spill = out / f".spill-{token}"
    plan = plan or Plan()
    source = reader or open_table(path, name=name, sheet=sheet, limits=limits)
    try:
        with source:
            feed, validator = _write(source, declared_items, plan, secret, temp, spill,
                                     progress, sample_size, memory_limit)
        if validator and strict and validator.report.problem_count:
            raise _invalid_values(validator.report)
        result = _finish(temp, final, source, feed, validator, plan, profile, memory_limit)
        if progress:
            progress(feed.rows, 100.0)
        return result
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _write(source: TableReader, declared_items: Sequence[DataItem] | None, plan: Plan,
           secret: bytes | str | None, temp: Path, spill: Path, progress: Progress | None,
           sample_size: int, memory_limit: str) -> tuple[_Feed, Validator | None]:
    """Stream the source through validation, sampling and the column rules into ``temp``.

    Arrow's Parquet writer is fed batch by batch (measured faster here than DuckDB's COPY from a
    Python stream) while the rules of the next batches run on other threads; only k-anonymity
    suppression, which needs every row, takes a second pass in DuckDB over the compact Parquet file.
    """
    validator = Validator(declared_items, source.columns) if declared_items else None
    if validator:
        validator.check_columns()
    schema = validator.schema if validator else source.schema
    check_plan(plan, schema.names, secret=secret)
    feed = _Feed(source, validator, ColumnSampler(schema.names, sample_size), progress)
    rules = ParallelRules(plan, schema, secret, workers=RULE_WORKERS)
    kanon = plan.k_anonymity
    staged = temp.with_suffix(".stage") if kanon and kanon.suppress else temp
    try:
        # closing(): a failed write stops the rule threads before their connections are closed.
        with pq.ParquetWriter(staged, rules.schema, compression=COMPRESSION) as writer, \
                closing(rules.map(feed)) as tables:
            _write_behind(writer, tables)
        # The sampled rows as published, for profiling without another sampling scan.
        feed.output_sample = rules.first(feed.sampler.table(schema))
        if kanon and kanon.suppress:
            _suppress_small_classes(staged, temp, kanon, spill, memory_limit)
    except BaseException:
        feed.close()
        raise
    finally:
        rules.close()
        if validator:
            validator.close()
        if staged != temp:
            staged.unlink(missing_ok=True)
    return feed, validator


def _write_behind(writer: pq.ParquetWriter, tables: Iterator[pa.Table]) -> None:
    """Write each table on a thread of its own (Arrow encodes and compresses without the GIL)
    while the next one is read; one write at a time keeps the order and bounds the memory."""
    with ThreadPoolExecutor(1, thread_name_prefix="kf-write") as pool:
        writing: Future[None] | None = None
        for table in tables:
            if writing is not None:
                writing.result()
            writing = pool.submit(writer.write_table, table)
        if writing is not None:
            writing.result()


def _suppress_small_classes(staged: Path, temp: Path, kanon: KAnonymity, spill: Path,
                            memory_limit: str) -> None:
    spill.mkdir(exist_ok=True)
    con = connect(temp_dir=spill, memory_limit=memory_limit)
    try:
        source = f"read_parquet({literal(str(staged))})"
        keys = ", ".join(quote(c) for c in kanon.quasi_identifiers)
        con.execute(
            f"COPY (SELECT * FROM {source} QUALIFY count(*) OVER (PARTITION BY {keys}) >= "
            f"{int(kanon.k)}) TO {literal(str(temp))} (FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()


def _finish(temp: Path, final: Path, source: TableReader, feed: _Feed,
            validator: Validator | None, plan: Plan, profile: bool, memory_limit: str) -> IngestResult:
    try:
        _fsync(temp)
        detection = feed.detection()
    finally:
        feed.close()
    table_profile = profile_output(temp, detection, plan, feed.output_sample,
                                   memory_limit=memory_limit) if profile else None
    kanon = plan.k_anonymity
    report = k_anonymity(temp, kanon.quasi_identifiers, kanon.k) if kanon else None
    parquet = pq.ParquetFile(temp)
    schema, rows = parquet.schema_arrow, parquet.metadata.num_rows
    digest = _sha256(temp)
    size = temp.stat().st_size
    os.replace(temp, final)
    _fsync(final.parent)
    return IngestResult(
        path=final, rows=rows, schema=[(f.name, str(f.type)) for f in schema],
        sha256=digest, size_bytes=size, source=dict(source.info), profile=table_profile,
        detection=detection, plan=plan, suggested_plan=suggest_plan(detection),
        validation=validator.report if validator else None, k_anonymity=report,
        rows_read=feed.rows, rows_suppressed=feed.rows - rows,
        warnings=_warnings(validator), output_sample=feed.output_sample,
    )


def profile_output(path: str | Path, detection: DetectionReport, plan: Plan,
                   sample: pa.Table | None = None, *, memory_limit: str = "1GB",
                   temp_dir: Path | None = None) -> TableProfile:
    """The profile of a written file: identifier columns stay text, personal data kept as-is is
    shown masked (legal-entity codes are not). The engine stays within ``memory_limit``,
    spilling to ``temp_dir`` (a folder beside the file by default)."""
    sensitive = {d.column: d.kind for d in detection.sensitive if d.kind is not None}
    kept = {d.column: d.kind for d in detection.sensitive if d.kind is not None
            and d.grade is not Grade.GENERAL and plan.rule(d.column).action is Action.KEEP}
    spill = temp_dir or Path(path).parent / f".spill-{uuid.uuid4().hex}"
    try:
        return profile_table(
            path,
            masks={c: partial(mask_value, k) for c, k in kept.items()},
            text_columns=[c for c, k in sensitive.items() if k in IDENTIFIER_KINDS],
            sample=sample, memory_limit=memory_limit, temp_dir=spill,
        )
    finally:
        if temp_dir is None:
            shutil.rmtree(spill, ignore_errors=True)


def _warnings(validator: Validator | None) -> list[str]:
    if validator is None:
        return []
    notes = []
    if validator.report.extra:
        notes.append(_("Columns not among the declared data items: %(columns)s",
                       columns="、".join(validator.report.extra)))
    if validator.report.problem_count:
        notes.append(_("%(count)s values do not fit their declared type and were left empty.",
                       count=validator.report.problem_count))
    return notes


def _invalid_values(report: ValidationReport) -> IngestError:
    first = report.problems[0] if report.problems else None
    return IngestError(
        Code.INVALID_VALUES,
        _("%(count)s values do not fit their declared type (first: row %(row)s, column "
          "%(column)s).", count=report.problem_count, row=first.row if first else "?",
          column=first.column if first else "?"),
        report.as_dict(),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    """Flush a file (or a directory entry, after a rename) to stable storage."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
