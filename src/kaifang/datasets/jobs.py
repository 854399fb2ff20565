"""Running ingest jobs.

A job is claimed (queued → running, by one worker only), writes its progress to its row at most
twice a second, and ends succeeded or failed with a code and a message in the language of the
person who started it. Nothing is visible before the version row: the pipeline writes into the
job's own work folder, the finished file is put into the storage under its version key and the
version row (a draft) is committed right after; the profile follows, and only then does the job
succeed. A job killed before the row leaves nothing behind (``recovery.sweep`` removes its
files and fails it, so it can be retried); one killed after it only computes the profile when
retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from kaifang.audit.actions import record
from kaifang.catalog.models import CatalogEntry
from kaifang.config import Settings
from kaifang.datasets.actions import publish_version
from kaifang.datasets.models import DatasetVersion, IngestJob, JobKind, JobStatus, PullKind
from kaifang.datasets.plans import unprotected_columns
from kaifang.datasets.pull import PullError, QueryReader, download
from kaifang.datasets.queries import declared_items, limits_for, next_number, pseudonym_secret, pull_source_of
from kaifang.datasets.receive import UPLOADS, safe_name
from kaifang.datasets.scan import scan_file
from kaifang.datasets.storage import storage_for, version_key
from kaifang.db import make_engine, make_session_factory, unit_of_work, utcnow
from kaifang.i18n import _, reset_locale, set_locale
from kaifang.ingest import DetectionReport, IngestError, IngestResult, Plan, ingest_file, profile_output

log = logging.getLogger("kaifang.datasets.jobs")

WORK = "work"
PROGRESS_EVERY_SECONDS = 0.5
READ_SHARE = 90.0
"""Share of the progress bar for reading; storing and profiling take the rest."""
STORED_PERCENT = 95.0
STALE_AFTER = dt.timedelta(minutes=15)
UPLOAD_RETENTION = dt.timedelta(days=2)
STRAY_GRACE = dt.timedelta(hours=1)
INTERRUPTED = "interrupted"
INTERNAL = "internal"
Progress = Callable[[int, float], None]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work_dir(settings: Settings, job_id: str) -> Path:
    return Path(settings.data_dir) / WORK / job_id


def run_job(settings: Settings, job_id: str, on_progress: Progress | None = None) -> str:
    """Run one queued job to its end; returns its status ("skipped" if it was not queued)."""
    engine = make_engine(settings.database_url)
    try:
        return _Run(settings, make_session_factory(engine), job_id, on_progress).run()
    finally:
        engine.dispose()


class _Run:
    def __init__(self, settings: Settings, factory: sessionmaker[Session], job_id: str,
                 on_progress: Progress | None) -> None:
        self.settings, self.factory, self.job_id = settings, factory, job_id
        self.work = work_dir(settings, job_id)
        self.storage = storage_for(settings)
        self.on_progress = on_progress
        self._last_write = 0.0

    def run(self) -> str:
        claimed = self._claim()
        if claimed is None:
            return "skipped"
        kind, locale = claimed
        token = set_locale(locale)
        shutil.rmtree(self.work, ignore_errors=True)
        self.work.mkdir(parents=True)
        try:
            RUNNERS[JobKind(kind)](self)
            return JobStatus.SUCCEEDED
        except (IngestError, PullError) as exc:
            # Bad input stays bad; a source that could not be reached may answer later.
            self._fail(exc.as_dict(), retryable=isinstance(exc, PullError))
        except Exception:
            log.exception("ingest job %s failed", self.job_id)
            self._fail({"code": INTERNAL, "detail": {},
                        "message": _("The job failed on our side and the error has been logged. "
                                     "Retry it later.")}, retryable=True)
        finally:
            shutil.rmtree(self.work, ignore_errors=True)
            reset_locale(token)
        return JobStatus.FAILED

    def _claim(self) -> tuple[str, str] | None:
        with unit_of_work(self.factory) as session:
            now = utcnow()
            claimed = session.execute(
                update(IngestJob)
                .where(IngestJob.id == self.job_id, IngestJob.status == JobStatus.QUEUED)
                .values(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker_id(),
                        attempts=IngestJob.attempts + 1, rows_processed=0, percent=0.0)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return None
            job = session.get(IngestJob, self.job_id)
            assert job is not None
            return job.kind, job.locale

    def job(self, session: Session) -> IngestJob:
        job = session.get(IngestJob, self.job_id)
        assert job is not None
        return job

    def input(self, job: IngestJob) -> Path:
        return Path(self.settings.data_dir) / job.input_path  # an absolute path (CLI) stays as is

    def progress(self, rows: int, percent: float) -> None:
        if self.on_progress:
            self.on_progress(rows, percent)
        now = time.monotonic()
        if now - self._last_write < PROGRESS_EVERY_SECONDS:
            return
        self._last_write = now
        with self.factory() as session:
            session.execute(update(IngestJob).where(IngestJob.id == self.job_id).values(
                rows_processed=rows, percent=round(percent * READ_SHARE / 100, 1), heartbeat_at=utcnow()))
            session.commit()

    def succeed(self, result: dict[str, Any], rows: int) -> None:
        with unit_of_work(self.factory) as session:
            finish_job(self.job(session), JobStatus.SUCCEEDED, rows=rows, result=result)

    def _fail(self, error: dict[str, Any], retryable: bool) -> None:
        with unit_of_work(self.factory) as session:
            job = self.job(session)
            finish_job(job, JobStatus.FAILED, error=error, retryable=retryable)
        if not retryable and job.kind == JobKind.STAGE:
            remove_upload(self.settings, job.input_path)  # the file cannot get better

    def inputs(self, job: IngestJob) -> dict[str, Any]:
        """What ``ingest`` needs, read while the session is open (none is held during the run)."""
        return {"declared_items": declared_items(job.entry), "plan": Plan.from_dict(job.plan or {}),
                "secret": pseudonym_secret(self.settings, job.entry_id), "name": job.source.get("file_name")}

    def ingest(self, path: Path, inputs: dict[str, Any], **options: Any) -> IngestResult:
        # The profile comes after the version is stored (``complete``): it can be queried sooner.
        return ingest_file(path, **inputs, out_dir=self.work, progress=self.progress,
                           limits=limits_for(self.settings), profile=False, **options)

    def store(self, result: IngestResult) -> str:
        """Put the file into the storage and commit its version row right after: from then on the
        version can be queried. Returns the version's id; the job goes on with the profile."""
        key = None
        try:
            with unit_of_work(self.factory) as session:
                job = self.job(session)
                # Take the write lock before choosing the number: on SQLite by writing, on
                # PostgreSQL by locking the entry row. Two jobs of one entry never share a number.
                job.heartbeat_at, job.percent = utcnow(), STORED_PERCENT
                session.flush()
                session.execute(select(CatalogEntry.id).where(CatalogEntry.id == job.entry_id).with_for_update())
                key = version_key(job.entry_id, next_number(session, job.entry_id))
                self.storage.put(result.path, key)
                version = _version_row(job, result, key)
                session.add(version)
                session.flush()
                job.version_id, job.rows_processed = version.id, result.rows_read
                record(session, job.created_by, "dataset.version_create", target_type="dataset_version",
                       target_id=version.id, data={"entry": job.entry.name, "number": version.number,
                                                   "sha256": version.sha256, "job": job.id})
                return version.id
        except BaseException:
            if key is not None:
                self.storage.delete(key)
            raise

    def complete(self, version_id: str, local: Path, detection: DetectionReport, plan: Plan,
                 sample: pa.Table | None = None, *, publish: bool = False) -> None:
        """Profile the stored file (its local copy), then end the job, publishing when asked."""
        profile = profile_output(local, detection, plan, sample)
        with unit_of_work(self.factory) as session:
            version = session.get(DatasetVersion, version_id)
            assert version is not None
            version.profile = profile.as_dict()
            summary = {"rows": version.rows, "sha256": version.sha256, "size_bytes": version.size_bytes,
                       "warnings": version.report.get("warnings", []),
                       "unprotected": unprotected_columns(detection, plan)}
            finish_job(self.job(session), JobStatus.SUCCEEDED, result=summary)
            if publish:
                _publish(session, version)

    def stored(self) -> bool:
        """A retry of a job stopped after its version was stored: only the profile is left."""
        with self.factory() as session:
            version = self.job(session).version
            if version is None:
                return False
            key, version_id = version.storage_key, version.id
            detection, plan = DetectionReport.from_dict(version.detection), Plan.from_dict(version.applied_plan)
        local = self.storage.fetch(key, self.work / "data.parquet")
        self.complete(version_id, local, detection, plan)
        return True


def _version_row(job: IngestJob, result: IngestResult, key: str) -> DatasetVersion:
    number = int(key.rsplit("/", 1)[-1].split(".", maxsplit=1)[0])
    return DatasetVersion(
        entry_id=job.entry_id, number=number, storage_key=key, rows=result.rows,
        schema=[list(s) for s in result.schema], sha256=result.sha256, size_bytes=result.size_bytes,
        source=result.source, profile={}, detection=result.detection.as_dict(),
        applied_plan=result.plan.as_dict(), job_id=job.id, created_by_id=job.created_by_id,
        report={"validation": result.validation.as_dict() if result.validation else None,
                "k_anonymity": result.k_anonymity.as_dict() if result.k_anonymity else None,
                "warnings": result.warnings, "rows_read": result.rows_read,
                "rows_suppressed": result.rows_suppressed},
    )


def _publish(session: Session, version: DatasetVersion) -> None:
    publish_version(session, version)
    record(session, None, "dataset.version_publish", target_type="dataset_version", target_id=version.id,
           data={"entry": version.entry.name, "number": version.number, "automatic": True})


def finish_job(job: IngestJob, status: JobStatus, *, rows: int | None = None, result: dict[str, Any] | None = None,
            error: dict[str, Any] | None = None, retryable: bool = False) -> None:
    job.status, job.finished_at, job.heartbeat_at = status, utcnow(), utcnow()
    if status == JobStatus.SUCCEEDED:
        job.percent, job.result = 100.0, result
        if rows is not None:
            job.rows_processed = rows
        return
    error = error or {}
    job.error_code, job.error_message = str(error.get("code", INTERNAL)), str(error.get("message", ""))
    job.error_detail, job.retryable = error.get("detail") or None, retryable


def _stage(run: _Run) -> None:
    with run.factory() as session:
        job = run.job(session)
        path, name, items = run.input(job), job.source.get("file_name"), declared_items(job.entry)
    report = scan_file(path, name=name, declared_items=items, limits=limits_for(run.settings),
                       progress=run.progress)
    run.succeed(report.as_dict(), report.rows)


def _apply(run: _Run) -> None:
    if run.stored():
        return
    with run.factory() as session:
        job = run.job(session)
        path, inputs = run.input(job), run.inputs(job)
    result = run.ingest(path, inputs)
    run.complete(run.store(result), result.path, result.detection, result.plan, result.output_sample)


def _pull(run: _Run) -> None:
    if run.stored():
        return
    with run.factory() as session:
        job = run.job(session)
        source = pull_source_of(session, job.entry_id)
        if source is None:
            raise PullError(_("No pull source is set for this dataset."))
        kind, url, query, auto_publish = source.kind, source.url, source.query, source.auto_publish
        name = source.file_name or safe_name(url.split("?")[0])
        inputs = {**run.inputs(job), "name": name}
    if kind == PullKind.URL:
        path = download(url, run.work / f"source-{safe_name(name)}", limits_for(run.settings).max_bytes)
        result = run.ingest(path, inputs)
    else:
        result = run.ingest(run.work / "query", inputs, reader=QueryReader(url, query))
    # Published without a person only when no personal data is left as it came.
    automatic = auto_publish and not unprotected_columns(result.detection, result.plan)
    run.complete(run.store(result), result.path, result.detection, result.plan, result.output_sample,
                 publish=automatic)


RUNNERS: dict[JobKind, Callable[[_Run], None]] = {
    JobKind.STAGE: _stage, JobKind.APPLY: _apply, JobKind.PULL: _pull,
}


def remove_upload(settings: Settings, input_path: str) -> None:
    """Delete an upload's folder (``uploads/<token>/<name>``); other paths are not ours."""
    parts = Path(input_path).parts
    if len(parts) == 3 and parts[0] == UPLOADS:
        shutil.rmtree(Path(settings.data_dir) / parts[0] / parts[1], ignore_errors=True)
