"""Reads of versions, jobs and pull sources, each behind the entry's edit permission: only the
provider's side (``can_edit``) sees them, and to everyone else they do not exist."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry_for_edit
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion, IngestJob, JobKind, PullSource, VersionStatus
from kaifang.datasets.storage import Storage
from kaifang.errors import NotFound
from kaifang.i18n import _
from kaifang.ingest import DataItem, Limits
from kaifang.ingest.validate import parse_type

# Catalog item types the ingest validator knows under another name; geometry stays text (WKT).
ITEM_TYPES = {"decimal": "number", "geometry": "string"}
PREVIEW_ROWS = 20


def declared_items(entry: CatalogEntry) -> list[DataItem]:
    return [DataItem(item.name, parse_type(ITEM_TYPES.get(item.type, item.type))) for item in entry.items]


def limits_for(settings: Settings) -> Limits:
    return Limits(max_bytes=settings.max_upload_bytes)


def pseudonym_secret(settings: Settings, entry_id: str) -> bytes:
    """One key per entry, stable across its versions (rows keep their pseudonym from one update
    to the next) and unrelated between entries (no joining two datasets on pseudonyms)."""
    key = (settings.pseudonym_key or settings.secret_key).encode()
    return hmac.new(key, b"kaifang.pseudonym:" + entry_id.encode(), hashlib.sha256).digest()


def access_job(session: Session, actor: Principal, name: str, job_id: str) -> IngestJob:
    entry = access_entry_for_edit(session, actor, name)
    job = session.get(IngestJob, job_id)
    if job is None or job.entry_id != entry.id:
        raise NotFound(_("No such job."))
    return job


def access_version(session: Session, actor: Principal, name: str, number: int) -> DatasetVersion:
    entry = access_entry_for_edit(session, actor, name)
    version = session.scalars(select(DatasetVersion).where(
        DatasetVersion.entry_id == entry.id, DatasetVersion.number == number)).first()
    if version is None:
        raise NotFound(_("No such version."))
    return version


def versions_of(session: Session, entry: CatalogEntry) -> list[DatasetVersion]:
    return list(session.scalars(select(DatasetVersion).where(DatasetVersion.entry_id == entry.id)
                                .order_by(DatasetVersion.number.desc())))


def current_version(session: Session, entry_id: str) -> DatasetVersion | None:
    """The published version: what the entry serves."""
    return session.scalars(select(DatasetVersion).where(
        DatasetVersion.entry_id == entry_id, DatasetVersion.status == VersionStatus.PUBLISHED)).first()


def jobs_of(session: Session, entry: CatalogEntry, limit: int = 20) -> list[IngestJob]:
    return list(session.scalars(select(IngestJob).where(IngestJob.entry_id == entry.id)
                                .order_by(IngestJob.created_at.desc()).limit(limit)))


def apply_jobs_of(session: Session, stage: IngestJob) -> list[IngestJob]:
    return list(session.scalars(select(IngestJob).where(IngestJob.stage_job_id == stage.id)
                                .order_by(IngestJob.created_at.desc())))


def pull_source_of(session: Session, entry_id: str) -> PullSource | None:
    return session.scalars(select(PullSource).where(PullSource.entry_id == entry_id)).first()


def next_number(session: Session, entry_id: str) -> int:
    top = session.scalar(select(func.max(DatasetVersion.number)).where(DatasetVersion.entry_id == entry_id))
    return (top or 0) + 1


def busy(session: Session, entry_id: str, kind: JobKind) -> bool:
    """A job of this kind is queued or running for the entry (one pull at a time)."""
    return bool(session.scalar(select(func.count()).select_from(IngestJob).where(
        IngestJob.entry_id == entry_id, IngestJob.kind == kind,
        IngestJob.status.in_(("queued", "running")))))


def preview(storage: Storage, version: DatasetVersion, rows: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The first rows of the version, as the provider's check of what will be published."""
    with storage.open(version.storage_key) as fh:
        parquet = pq.ParquetFile(fh)
        batch = next(parquet.iter_batches(batch_size=rows), None)
        names = parquet.schema_arrow.names
    table = pa.Table.from_batches([batch]) if batch is not None else None
    values = [[_cell(v) for v in row.values()] for row in table.to_pylist()] if table else []
    return {"columns": names, "rows": values}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
