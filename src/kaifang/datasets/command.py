"""``kaifang ingest FILE --entry NAME``: a file on the server's disk to a version, in-process.

The run is recorded as an ingest job like an upload (visible on the entry's data page), but runs
at once in the calling process so that the terminal can show its progress. The plan is the one of
the entry's latest version (``current``), the detector's suggestion (``suggested``, which reads
the file twice) or a JSON file. Without a plan the file is only checked, and the report returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.catalog.models import CatalogEntry
from kaifang.config import Settings
from kaifang.datasets.actions import publish_version
from kaifang.datasets.jobs import Progress, run_job
from kaifang.datasets.models import DatasetVersion, IngestJob, JobKind, JobStatus
from kaifang.datasets.plans import parse_plan
from kaifang.datasets.queries import current_version, declared_items, limits_for, versions_of
from kaifang.datasets.scan import scan_file
from kaifang.db import make_engine, make_session_factory, unit_of_work
from kaifang.errors import NotFound
from kaifang.i18n import _, get_locale

CURRENT, SUGGESTED = "current", "suggested"


@dataclass
class CliOutcome:
    status: str
    """A job status, or "needs_plan" when the file was only checked."""
    job_id: str | None = None
    version: int | None = None
    error: dict[str, Any] | None = None
    report: dict[str, Any] | None = None


def ingest_cli(settings: Settings, path: Path, entry_name: str, *, plan: str = CURRENT, publish: bool = False,
               progress: Progress | None = None) -> CliOutcome:
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            entry = _entry(session, entry_name)
            chosen = _plan(session, entry, plan)
            items = declared_items(entry)
        if chosen is None:
            report = scan_file(path, name=path.name, declared_items=items, limits=limits_for(settings),
                               progress=progress).as_dict()
            if plan != SUGGESTED:
                return CliOutcome("needs_plan", report=report)
            chosen = report["suggested_plan"]
        with unit_of_work(factory) as session:
            job_id = _create_job(session, entry.id, path, chosen)
        status = run_job(settings, job_id, on_progress=progress)
        with unit_of_work(factory) as session:
            return _outcome(session, job_id, status, publish)
    finally:
        engine.dispose()


def _entry(session: Session, name: str) -> CatalogEntry:
    entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == name)).first()
    if entry is None:
        raise NotFound(_("No such dataset."))
    return entry


def _plan(session: Session, entry: CatalogEntry, plan: str) -> dict[str, Any] | None:
    if plan == SUGGESTED:
        return None
    if plan == CURRENT:
        versions = versions_of(session, entry)
        latest = current_version(session, entry.id) or (versions[0] if versions else None)
        return dict(latest.applied_plan) if latest else None
    return parse_plan(json.loads(Path(plan).read_text(encoding="utf-8"))).as_dict()


def _create_job(session: Session, entry_id: str, path: Path, plan: dict[str, Any]) -> str:
    job = IngestJob(entry_id=entry_id, kind=JobKind.APPLY, input_path=str(path.resolve()), plan=plan,
                    source={"type": "file", "file_name": path.name, "size_bytes": path.stat().st_size},
                    locale=get_locale())
    session.add(job)
    session.flush()
    record(session, None, "dataset.cli_ingest", target_type="ingest_job", target_id=job.id,
           data={"path": str(path.resolve()), "plan": plan})
    return job.id


def _outcome(session: Session, job_id: str, status: str, publish: bool) -> CliOutcome:
    job = session.get(IngestJob, job_id)
    assert job is not None
    version: DatasetVersion | None = job.version
    if publish and status == JobStatus.SUCCEEDED and version is not None:
        publish_version(session, version)
        record(session, None, "dataset.version_publish", target_type="dataset_version", target_id=version.id,
               data={"entry": job.entry.name, "number": version.number, "via": "cli"})
    error = {"code": job.error_code, "message": job.error_message} if job.error_code else None
    return CliOutcome(status, job_id, version.number if version else None, error)
