from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.auth.models import Organisation
from kaifang.catalog.vocab import EntryStatus, Origin, SecurityGrade, ShareType
from kaifang.db import Base, IdMixin, TimestampMixin, utcnow


class Domain(Base):
    """One node of the subject taxonomy (configurable; a Chinese default ships in taxonomy.toml)."""

    __tablename__ = "catalog_domain"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    position: Mapped[int] = mapped_column(Integer, default=0)


class CatalogEntry(IdMixin, TimestampMixin, Base):
    """A data resource of one provider (政务数据资源目录 entry)."""

    __tablename__ = "catalog_entry"
    __table_args__ = (
        Index("ix_catalog_entry_status_open_type", "status", "open_type"),
        Index("ix_catalog_entry_provider_id", "provider_id"),
    )

    # A stable public identifier used in web addresses and the CKAN API (package name).
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    domain_code: Mapped[str | None] = mapped_column(ForeignKey("catalog_domain.code"))
    provider_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"))
    # The department or district that submitted the entry for a sub-unit (CQ 14).
    submitted_by_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"))
    origin: Mapped[str] = mapped_column(String(20), default=Origin.OWN)

    open_type: Mapped[str] = mapped_column(String(20))
    open_conditions: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    security_grade: Mapped[str] = mapped_column(String(20), default=SecurityGrade.PUBLIC)
    access_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    share_type: Mapped[str] = mapped_column(String(20), default=ShareType.UNCONDITIONAL)
    share_conditions: Mapped[str] = mapped_column(Text, default="")
    licence: Mapped[str] = mapped_column(String(200), default="")
    update_frequency: Mapped[str] = mapped_column(String(20))
    formats: Mapped[list[str]] = mapped_column(JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    temporal_start: Mapped[dt.date | None] = mapped_column(Date)
    temporal_end: Mapped[dt.date | None] = mapped_column(Date)
    spatial_coverage: Mapped[str] = mapped_column(String(200), default="")
    annual_focus: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(20), default=EntryStatus.DRAFT)
    review_case_id: Mapped[str | None] = mapped_column(String(32))
    first_published_at: Mapped[dt.datetime | None] = mapped_column()
    published_at: Mapped[dt.datetime | None] = mapped_column()
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column()
    # Counts for the "most used" sort; refreshed by access logging.
    use_count: Mapped[int] = mapped_column(Integer, default=0)
    extras: Mapped[dict[str, Any]] = mapped_column(default=dict)

    provider: Mapped[Organisation] = relationship(foreign_keys=[provider_id], lazy="joined")
    submitted_by: Mapped[Organisation | None] = relationship(foreign_keys=[submitted_by_org_id])
    domain: Mapped[Domain | None] = relationship(lazy="joined")
    items: Mapped[list[DataItem]] = relationship(back_populates="entry", order_by="DataItem.position",
                                                 cascade="all, delete-orphan", lazy="selectin")

    @property
    def audit_label(self) -> str:
        return self.name


class DataItem(IdMixin, Base):
    """A field of the resource: name, type, description, sensitivity."""

    __tablename__ = "catalog_data_item"
    __table_args__ = (UniqueConstraint("entry_id", "name", name="uq_catalog_data_item_entry_name"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200), default="")
    type: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    sensitivity: Mapped[str] = mapped_column(String(30), default="none")

    entry: Mapped[CatalogEntry] = relationship(back_populates="items")


class EntryRevision(IdMixin, Base):
    """A snapshot of an entry's metadata at each review step: what was reviewed is kept."""

    __tablename__ = "catalog_entry_revision"

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))


class ChangeRequest(IdMixin, Base):
    """An application to update an entry of the open catalog after a law or the provider's duties
    changed (CQ 17, GY 13). The proposed metadata is kept whole, so what was approved is exact."""

    __tablename__ = "catalog_change_request"

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    cause: Mapped[str] = mapped_column(String(20))
    # The day the law was amended or the duties changed: the filing period counts from it.
    changed_on: Mapped[dt.date] = mapped_column(Date)
    explanation: Mapped[str] = mapped_column(Text, default="")
    filing_due: Mapped[dt.date | None] = mapped_column(Date)
    filed_on: Mapped[dt.date | None] = mapped_column(Date)
    # EntryInput values as submitted; None until the provider files the change.
    proposed: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The entry's metadata just before the change was applied, to show what it replaced.
    replaced: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    applied_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    entry: Mapped[CatalogEntry] = relationship(lazy="joined")

    @property
    def filed_late(self) -> bool:
        return bool(self.filed_on and self.filing_due and self.filed_on > self.filing_due)


class Dispute(IdMixin, Base):
    """Two providers disagree which of them opens a resource (CQ 15)."""

    __tablename__ = "catalog_dispute"

    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id"), index=True)
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("catalog_entry.id", ondelete="SET NULL"), index=True)
    resource: Mapped[str] = mapped_column(String(200))
    claimant_org_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    respondent_org_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    # Set when the dispute ends by agreement, mediation or the government's decision.
    owner_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    entry: Mapped[CatalogEntry | None] = relationship()
    claimant: Mapped[Organisation] = relationship(foreign_keys=[claimant_org_id], lazy="joined")
    respondent: Mapped[Organisation] = relationship(foreign_keys=[respondent_org_id], lazy="joined")
    owner: Mapped[Organisation | None] = relationship(foreign_keys=[owner_org_id])


class NonOpenReview(IdMixin, Base):
    """One periodic assessment of a not-yet-opened entry (CQ 18): may it be opened now?"""

    __tablename__ = "catalog_nonopen_review"

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), index=True)
    reviewed_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
