"""Tables of data access: grants of conditional data and the log of every access.

A grant is what an approved application and its accepted agreement open to one user (CQ 24-25,
LYG 19): which columns, which rows (a filter), by which modes, from when until when. It is
checked on every access path; suspending or revoking it takes effect on the next request.

The access log keeps who received what, when, how many rows and bytes, and the SHA-256 of the
exact bytes served (LYG 21, 26): a leaked file that is byte-identical names its download at once.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.auth.models import User
from kaifang.cases.models import Case
from kaifang.catalog.models import CatalogEntry
from kaifang.db import Base, IdMixin, utcnow
from kaifang.i18n import N_


class GrantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    """Stopped for now (a breach, a withdrawn dataset, overdue feedback); may be resumed."""
    REVOKED = "revoked"
    """Ended for good; a new application is needed."""


GRANT_STATUS_LABELS = {
    GrantStatus.ACTIVE: N_("Active"),
    GrantStatus.SUSPENDED: N_("Suspended"),
    GrantStatus.REVOKED: N_("Revoked"),
}


class Channel(StrEnum):
    """How the data left the platform."""

    DOWNLOAD = "download"
    API = "api"
    CKAN = "ckan"
    PREVIEW = "preview"
    CHART = "chart"


CHANNEL_LABELS = {
    Channel.DOWNLOAD: N_("Download"),
    Channel.API: N_("API"),
    Channel.CKAN: N_("CKAN API"),
    Channel.PREVIEW: N_("Preview"),
    Channel.CHART: N_("Chart"),
}


class Grant(IdMixin, Base):
    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_entry_user", "entry_id", "user_id"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id"))
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The application and agreement that led to it (kaifang.applications).
    application_id: Mapped[str | None] = mapped_column(String(32), index=True)
    agreement_id: Mapped[str | None] = mapped_column(String(32))
    # Column names of the dataset the grantee may receive, in no particular order.
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Conditions every row served must meet: [{"column", "op", "value"}] (kaifang.access.query).
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Beijing dates, both included.
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=GrantStatus.ACTIVE)
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[dt.datetime | None] = mapped_column()
    status_changed_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    # Usage feedback the agreement asks for (LYG 24): every N months, 0 = none.
    feedback_every_months: Mapped[int] = mapped_column(Integer, default=0)
    feedback_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")

    @property
    def audit_label(self) -> str:
        return f"{self.entry.name} → {self.user.username}"

    def in_force_on(self, day: dt.date) -> bool:
        return self.status == GrantStatus.ACTIVE and self.valid_from <= day <= self.valid_until


class AccessLog(Base):
    """One download or API call. Written for every access; for conditional data before the bytes
    leave, for open data possibly a moment later (``kaifang.access.log``)."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_entry_at", "entry_id", "at"),
        Index("ix_access_log_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(32))
    token_id: Mapped[str | None] = mapped_column(String(32))
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    entry_id: Mapped[str] = mapped_column(String(32))
    version_id: Mapped[str | None] = mapped_column(String(32))
    grant_id: Mapped[str | None] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    format: Mapped[str] = mapped_column(String(20), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    # False while a download streams, and for one the client broke off.
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    request_id: Mapped[str] = mapped_column(String(64), default="")


class FeedbackReport(IdMixin, Base):
    """One usage report a grant owes for one period (LYG 24), handled as a case: opened by the
    platform when the period ends, one per grant and period."""

    __tablename__ = "access_feedback"
    __table_args__ = (UniqueConstraint("grant_id", "period_end", name="uq_access_feedback_period"),)

    grant_id: Mapped[str] = mapped_column(ForeignKey("access_grant.id"), index=True)
    # Beijing dates, both included.
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id"), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    grant: Mapped[Grant] = relationship(lazy="joined")
    case: Mapped[Case] = relationship(lazy="joined")
