"""After a worker died: fail its jobs (so they can be retried) and remove what it left behind.

Run when a worker starts and hourly. A running job is abandoned when its worker process on this
host is gone, or when it has not reported for ``STALE_AFTER`` (a worker on another host). Files
are removed only when nothing refers to them and they are older than ``STRAY_GRACE``: an upload
being received, or a version file moved into place a moment before its row is committed, is
never taken for litter.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kaifang.config import Settings
from kaifang.datasets.jobs import INTERRUPTED, STALE_AFTER, STRAY_GRACE, UPLOAD_RETENTION, WORK, finish_job
from kaifang.datasets.models import DatasetVersion, IngestJob, JobStatus
from kaifang.datasets.receive import UPLOADS
from kaifang.datasets.storage import Storage, is_temporary, storage_for
from kaifang.db import make_engine, make_session_factory, unit_of_work, utcnow
from kaifang.i18n import _, reset_locale, set_locale


def sweep(settings: Settings, now: dt.datetime | None = None) -> list[str]:
    """Returns the ids of the jobs it failed."""
    now = now or utcnow()
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            failed = _fail_abandoned(session, now)
            running = set(session.scalars(select(IngestJob.id).where(IngestJob.status == JobStatus.RUNNING)))
            uploads = _uploads_in_use(session, now)
            keys = set(session.scalars(select(DatasetVersion.storage_key)))
    finally:
        engine.dispose()
    _clean_folder(Path(settings.data_dir) / WORK, keep=running, older_than=None)
    _clean_folder(Path(settings.data_dir) / UPLOADS, keep=uploads, older_than=now - STRAY_GRACE)
    _clean_storage(storage_for(settings), keys, now - STRAY_GRACE)
    return failed


def stuck_jobs(session: Session, now: dt.datetime) -> list[str]:
    """Jobs queued for long: their queue message may be lost (a new one is harmless, a job runs
    once because claiming it is atomic)."""
    return list(session.scalars(select(IngestJob.id).where(
        IngestJob.status == JobStatus.QUEUED, IngestJob.created_at < now - STALE_AFTER)))


def _fail_abandoned(session: Session, now: dt.datetime) -> list[str]:
    failed = []
    for job in session.scalars(select(IngestJob).where(IngestJob.status == JobStatus.RUNNING)):
        stale = job.heartbeat_at is None or job.heartbeat_at < now - STALE_AFTER
        if not (stale or _dead_here(job.worker)):
            continue
        token = set_locale(job.locale)
        try:
            message = _("The job was interrupted: its worker stopped. Nothing of it was kept; retry it.")
        finally:
            reset_locale(token)
        finish_job(job, JobStatus.FAILED, error={"code": INTERRUPTED, "message": message, "detail": {}},
                retryable=True)
        failed.append(job.id)
    session.flush()
    return failed


def _dead_here(worker: str) -> bool:
    """The job's worker process ran on this host and is gone."""
    host, _sep, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def _uploads_in_use(session: Session, now: dt.datetime) -> set[str]:
    """Upload folders that a job may still read: its own, while queued or running, or while
    recent enough to confirm a plan or to be retried."""
    paths = session.scalars(select(IngestJob.input_path).where(or_(
        IngestJob.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        IngestJob.created_at >= now - UPLOAD_RETENTION)))
    return {Path(p).parts[1] for p in paths if len(Path(p).parts) == 3 and Path(p).parts[0] == UPLOADS}


def _clean_folder(root: Path, keep: set[str], older_than: dt.datetime | None) -> None:
    if not root.is_dir():
        return
    for child in root.iterdir():
        if child.name in keep:
            continue
        if older_than is not None and _modified(child) >= older_than:
            continue
        shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)


def _modified(path: Path) -> dt.datetime:
    """The newest modification time in a folder (an upload still arriving keeps it fresh)."""
    times = [path.stat().st_mtime] + [p.stat().st_mtime for p in path.rglob("*") if p.exists()]
    return dt.datetime.fromtimestamp(max(times), dt.UTC)


def _clean_storage(storage: Storage, keys: set[str], older_than: dt.datetime) -> None:
    for stored in storage.files():
        if stored.key in keys and not is_temporary(stored.key):
            continue
        if stored.modified is None or stored.modified < older_than:
            storage.delete(stored.key)
