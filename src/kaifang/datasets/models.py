"""Tables of dataset versions, ingest jobs and scheduled pulls.

A version is a Parquet file in the storage (see ``storage``) plus the facts needed to serve and
audit it. An ingest job records one run of the pipeline for the provider to follow: its progress,
its error, its report. At most one version of an entry is published at a time (a partial unique
index), so "the current version" is a row, never a guess.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.auth.models import User
from kaifang.catalog.models import CatalogEntry
from kaifang.db import Base, IdMixin, JSONType, utcnow
from kaifang.i18n import N_


class VersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


VERSION_STATUS_LABELS = {
    VersionStatus.DRAFT: N_("Draft"),
    VersionStatus.PUBLISHED: N_("Current version"),
    VersionStatus.SUPERSEDED: N_("Superseded"),
    VersionStatus.WITHDRAWN: N_("Withdrawn"),
}


class JobKind(StrEnum):
    STAGE = "stage"
    """Read an upload: validate, detect sensitive columns, suggest a plan. Writes no version."""
    APPLY = "apply"
    """Apply a confirmed plan to a staged upload and write a draft version."""
    PULL = "pull"
    """Fetch from the entry's pull source and apply its plan."""


JOB_KIND_LABELS = {
    JobKind.STAGE: N_("Check of an upload"),
    JobKind.APPLY: N_("Desensitise and write a version"),
    JobKind.PULL: N_("Scheduled pull"),
}


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


JOB_STATUS_LABELS = {
    JobStatus.QUEUED: N_("Queued"),
    JobStatus.RUNNING: N_("Running"),
    JobStatus.SUCCEEDED: N_("Succeeded"),
    JobStatus.FAILED: N_("Failed"),
}


class DatasetVersion(IdMixin, Base):
    __tablename__ = "dataset_version"
    __table_args__ = (
        UniqueConstraint("entry_id", "number", name="uq_dataset_version_entry_number"),
        # One current version per entry, enforced by both engines.
        Index("uq_dataset_version_published", "entry_id", unique=True,
              sqlite_where=text("status = 'published'"), postgresql_where=text("status = 'published'")),
    )

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=VersionStatus.DRAFT)
    storage_key: Mapped[str] = mapped_column(String(300))
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    schema: Mapped[list[list[str]]] = mapped_column(JSONType, default=list)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    detection: Mapped[dict[str, Any]] = mapped_column(default=dict)
    applied_plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Validation, k-anonymity and warnings of the run that wrote the file."""
    job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column()
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()

    @property
    def audit_label(self) -> str:
        return f"{self.entry.name} v{self.number}"


class IngestJob(IdMixin, Base):
    __tablename__ = "ingest_job"
    __table_args__ = (Index("ix_ingest_job_entry_created", "entry_id", "created_at"),
                      Index("ix_ingest_job_status", "status"))

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=JobStatus.QUEUED)
    # Where the input is: {"type": "upload", "file_name", "size_bytes"} or a pull source's facts.
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Path of the input file relative to the data directory (uploads), or absolute for the CLI.
    input_path: Mapped[str] = mapped_column(String(500), default="")
    stage_job_id: Mapped[str | None] = mapped_column(ForeignKey("ingest_job.id", ondelete="SET NULL"))
    plan: Mapped[dict[str, Any] | None] = mapped_column()
    # Messages of the run (errors, detection reasons) are written in the language of the person
    # who started it; the error code is shown in the reader's language beside them.
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    rows_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    percent: Mapped[float] = mapped_column(default=0.0)
    error_code: Mapped[str] = mapped_column(String(40), default="")
    error_message: Mapped[str] = mapped_column(Text, default="")
    error_detail: Mapped[dict[str, Any] | None] = mapped_column()
    retryable: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any] | None] = mapped_column()
    version_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_version.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # host:pid of the worker running it, and when it last reported: a killed worker is noticed.
    worker: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column()
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column()
    finished_at: Mapped[dt.datetime | None] = mapped_column()

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    version: Mapped[DatasetVersion | None] = relationship(foreign_keys=[version_id])

    @property
    def audit_label(self) -> str:
        return f"{self.entry.name} {self.kind} {self.id[:8]}"

    @property
    def done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class PullKind(StrEnum):
    URL = "url"
    DATABASE = "database"


class PullSource(IdMixin, Base):
    """Where an entry's data is fetched from on its update frequency (GY 10, 12)."""

    __tablename__ = "dataset_pull_source"

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(Text, default="")
    """An http(s) address of a file, or a SQLAlchemy database URL."""
    query: Mapped[str] = mapped_column(Text, default="")
    file_name: Mapped[str] = mapped_column(String(200), default="")
    """Helps sniffing the format of a fetched file (e.g. ``data.xlsx``)."""
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_publish: Mapped[bool] = mapped_column(Boolean, default=False)
    last_run_at: Mapped[dt.datetime | None] = mapped_column()
    last_job_id: Mapped[str | None] = mapped_column(String(32))
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
