"""Writes: an upload becomes a job, a plan is confirmed, a version is published or withdrawn, a
pull source is saved.

Like every domain's actions these take ``(session, actor, …)``, check the entry's edit permission,
record the audit event in the same transaction and never commit. Jobs are queued by the caller
after the commit (``kaifang.datasets.queue.enqueue``), so a worker never looks for a row that is
not there yet.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import can_edit
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion, IngestJob, JobKind, JobStatus, PullSource, VersionStatus
from kaifang.datasets.pull import PullInput
from kaifang.datasets.queries import busy, current_version, pseudonym_secret, versions_of
from kaifang.datasets.receive import ReceivedFile
from kaifang.db import utcnow
from kaifang.errors import Conflict, NotFound, ValidationFailed
from kaifang.i18n import _, get_locale
from kaifang.ingest import IngestError, Plan
from kaifang.ingest.desensitise import check_plan


def _require_editor(session: Session, actor: Principal, entry: CatalogEntry) -> None:
    if not can_edit(session, actor, entry):
        raise NotFound(_("No such dataset."))


def _lock_entry(session: Session, entry_id: str) -> None:
    """Serialise version changes of one entry (PostgreSQL row lock; SQLite has one writer)."""
    session.execute(select(CatalogEntry.id).where(CatalogEntry.id == entry_id).with_for_update())


def do_upload(session: Session, actor: Principal, entry: CatalogEntry, received: ReceivedFile) -> IngestJob:
    """A staging job for a received file: it is checked before anything is written."""
    _require_editor(session, actor, entry)
    job = IngestJob(entry_id=entry.id, kind=JobKind.STAGE, input_path=received.relative,
                    source={"type": "upload", "file_name": received.file_name,
                            "size_bytes": received.size},
                    locale=get_locale(), created_by_id=actor.id)
    session.add(job)
    session.flush()
    record(session, actor, "dataset.upload", target_type="ingest_job", target_id=job.id,
           data={"entry": entry.name, "file_name": received.file_name, "size_bytes": received.size})
    return job


def do_confirm_plan(session: Session, settings: Settings, actor: Principal, stage: IngestJob,
                    plan: Plan) -> IngestJob:
    """The provider's plan for a checked upload: a job applies it and writes a draft version."""
    _require_editor(session, actor, stage.entry)
    if stage.kind != JobKind.STAGE or stage.status != JobStatus.SUCCEEDED or not stage.result:
        raise Conflict(_("This upload has not been checked successfully."))
    if not (Path(settings.data_dir) / stage.input_path).is_file():
        raise Conflict(_("The uploaded file is no longer kept. Upload it again."))
    columns = [name for name, _type in stage.result["schema"]]
    try:
        check_plan(plan, columns, secret=pseudonym_secret(settings, stage.entry_id))
    except IngestError as exc:
        raise ValidationFailed.single("plan", exc.message) from None
    job = IngestJob(entry_id=stage.entry_id, kind=JobKind.APPLY, stage_job_id=stage.id,
                    input_path=stage.input_path, source=dict(stage.source), plan=plan.as_dict(),
                    locale=get_locale(), created_by_id=actor.id)
    session.add(job)
    session.flush()
    record(session, actor, "dataset.plan_confirm", target_type="ingest_job", target_id=job.id,
           data={"entry": stage.entry.name, "stage_job": stage.id, "plan": plan.as_dict()})
    return job


def do_retry(session: Session, actor: Principal, job: IngestJob) -> IngestJob:
    """Queue a failed job again (after an interruption or a passing fault; not for bad input)."""
    _require_editor(session, actor, job.entry)
    if job.status != JobStatus.FAILED or not job.retryable:
        raise Conflict(_("Only a job that failed for a passing reason can be retried."))
    job.status, job.rows_processed, job.percent = JobStatus.QUEUED, 0, 0.0
    job.error_code, job.error_message, job.error_detail = "", "", None
    job.finished_at, job.worker = None, ""
    session.flush()
    record(session, actor, "dataset.job_retry", target_type="ingest_job", target_id=job.id,
           data={"entry": job.entry.name, "attempts": job.attempts})
    return job


def do_publish_version(session: Session, actor: Principal, version: DatasetVersion) -> DatasetVersion:
    """Make ``version`` the entry's current one, the previous one superseded, in one transaction."""
    _require_editor(session, actor, version.entry)
    if version.status not in (VersionStatus.DRAFT, VersionStatus.SUPERSEDED):
        raise Conflict(_("Only a draft or an earlier version can be published."))
    publish_version(session, version)
    record(session, actor, "dataset.version_publish", target_type="dataset_version", target_id=version.id,
           data={"entry": version.entry.name, "number": version.number, "sha256": version.sha256})
    return version


def publish_version(session: Session, version: DatasetVersion) -> None:
    """The switch itself (also used by pulls that publish automatically)."""
    _lock_entry(session, version.entry_id)
    previous = current_version(session, version.entry_id)
    if previous is not None and previous.id != version.id:
        previous.status = VersionStatus.SUPERSEDED
        session.flush()  # before the new one: at most one published row per entry
    version.status, version.published_at = VersionStatus.PUBLISHED, utcnow()
    session.flush()


def do_withdraw_version(session: Session, actor: Principal, version: DatasetVersion,
                        reason: str) -> DatasetVersion:
    """Stop serving a version (or discard a draft). The file stays for the audit trail."""
    _require_editor(session, actor, version.entry)
    if version.status == VersionStatus.WITHDRAWN:
        raise Conflict(_("The version is withdrawn already."))
    if not reason.strip():
        raise ValidationFailed.single("reason", _("Give the reason for withdrawing the version."))
    _lock_entry(session, version.entry_id)
    was = version.status
    version.status, version.withdrawn_at = VersionStatus.WITHDRAWN, utcnow()
    session.flush()
    record(session, actor, "dataset.version_withdraw", target_type="dataset_version", target_id=version.id,
           data={"entry": version.entry.name, "number": version.number, "was": was,
                 "reason": reason.strip()[:2000]})
    return version


def do_save_pull_source(session: Session, actor: Principal, entry: CatalogEntry, data: PullInput) -> PullSource:
    """Where to fetch the entry's data on its update frequency. The plan of the latest version is
    applied to every pull, so a source can only be set once a plan has been confirmed."""
    _require_editor(session, actor, entry)
    data.validate()
    versions = versions_of(session, entry)
    if not versions:
        raise ValidationFailed.single("kind", _("Upload a file and confirm its desensitisation plan first: "
                                                "scheduled pulls apply the same plan."))
    latest = current_version(session, entry.id) or versions[0]
    source = session.scalars(select(PullSource).where(PullSource.entry_id == entry.id)).first()
    if source is None:
        source = PullSource(entry_id=entry.id, created_by_id=actor.id)
        session.add(source)
    source.kind, source.url, source.query = data.kind, data.url.strip(), data.query.strip()
    source.file_name, source.enabled, source.auto_publish = data.file_name, data.enabled, data.auto_publish
    source.plan = dict(latest.applied_plan)
    session.flush()
    record(session, actor, "dataset.pull_source_save", target_type="dataset_pull_source", target_id=source.id,
           data={"entry": entry.name, "kind": data.kind, "address": data.shown_address(),
                 "enabled": data.enabled, "auto_publish": data.auto_publish, "plan_from": latest.number})
    return source


def create_pull_job(session: Session, source: PullSource, actor: Principal | None = None) -> IngestJob | None:
    """A pull job for ``source``, unless one is queued or running already."""
    if busy(session, source.entry_id, JobKind.PULL):
        return None
    job = IngestJob(entry_id=source.entry_id, kind=JobKind.PULL, plan=dict(source.plan),
                    source={"type": source.kind, "address": PullInput.mask_address(source.kind, source.url)},
                    locale=get_locale(), created_by_id=actor.id if actor else None)
    session.add(job)
    session.flush()
    # The next scheduled pull counts from this attempt, whether it succeeds or not.
    source.last_job_id, source.last_run_at = job.id, utcnow()
    record(session, actor, "dataset.pull_start", target_type="ingest_job", target_id=job.id,
           data={"entry": source.entry.name, "scheduled": actor is None})
    return job


def do_run_pull(session: Session, actor: Principal, entry: CatalogEntry, source: PullSource | None) -> IngestJob:
    _require_editor(session, actor, entry)
    if source is None:
        raise Conflict(_("No pull source is set for this dataset."))
    job = create_pull_job(session, source, actor)
    if job is None:
        raise Conflict(_("A pull is running already."))
    return job
