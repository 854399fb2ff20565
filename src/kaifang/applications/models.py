"""Tables of conditional access: applications, the agreement's model template (versioned), the
agreements made from it and their acceptances.

An application shares its id with its case (``case_file``), so the case, the application page and
the grant it leads to (``access_grant.application_id``) all name it the same way.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.auth.models import User
from kaifang.cases.models import Case
from kaifang.catalog.models import CatalogEntry
from kaifang.db import Base, IdMixin, utcnow
from kaifang.i18n import N_


class Party(StrEnum):
    APPLICANT = "applicant"  # 数据利用主体 (乙方)
    PROVIDER = "provider"  # 数据开放主体 (甲方)


PARTY_LABELS = {Party.APPLICANT: N_("Data user"), Party.PROVIDER: N_("Data provider")}


class ReviewOutcome(StrEnum):
    NONE = ""
    APPROVED = "approved"
    REJECTED = "rejected"


class Application(Base):
    """What a verified user asked for (CQ 24, LYG 10) and, once approved, what the provider allows."""

    __tablename__ = "access_application"

    id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id"), index=True)
    applicant_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"), index=True)
    # As applied for.
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    purpose: Mapped[str] = mapped_column(Text)
    scenario: Mapped[str] = mapped_column(Text)
    security_measures: Mapped[str] = mapped_column(Text)
    use_from: Mapped[dt.date] = mapped_column(Date)
    use_until: Mapped[dt.date] = mapped_column(Date)
    # A renewal names the grant it continues.
    renews_grant_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # As approved: a subset of the columns, a row filter, modes, a period and the feedback interval.
    approved_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    row_filter: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    approved_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[dt.date | None] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    feedback_every_months: Mapped[int] = mapped_column(Integer, default=0)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    grant_id: Mapped[str | None] = mapped_column(String(32))

    case: Mapped[Case] = relationship(lazy="joined")
    entry: Mapped[CatalogEntry] = relationship(lazy="joined")
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    agreement: Mapped[Agreement | None] = relationship(back_populates="application", uselist=False)

    @property
    def audit_label(self) -> str:
        return f"{self.entry.name} ← {self.applicant.username}"


class AgreementTemplate(IdMixin, Base):
    """One version of the model agreement (LYG 19). Saving makes a new version; none is changed."""

    __tablename__ = "agreement_template"

    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # A sandboxed Jinja2 template of plain text (kaifang.applications.agreements).
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    created_by: Mapped[User | None] = relationship()


class Agreement(IdMixin, Base):
    """The exact text both parties accept, rendered once from one template version."""

    __tablename__ = "data_agreement"

    application_id: Mapped[str] = mapped_column(ForeignKey("access_application.id", ondelete="CASCADE"),
                                                unique=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("agreement_template.id"))
    template_number: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The authority's review (CQ 24), where the jurisdiction has one.
    review_submitted_at: Mapped[dt.datetime | None] = mapped_column()
    review_outcome: Mapped[str] = mapped_column(String(20), default=ReviewOutcome.NONE)
    review_reason: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[dt.datetime | None] = mapped_column()
    reviewed_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[Application] = relationship(back_populates="agreement")
    template: Mapped[AgreementTemplate] = relationship()
    reviewed_by: Mapped[User | None] = relationship()
    acceptances: Mapped[list[AgreementAcceptance]] = relationship(
        back_populates="agreement", order_by="AgreementAcceptance.accepted_at", lazy="selectin",
        cascade="all, delete-orphan")

    def accepted_by(self, party: Party) -> AgreementAcceptance | None:
        return next((a for a in self.acceptances if a.party == party), None)

    @property
    def fully_accepted(self) -> bool:
        return all(self.accepted_by(p) is not None for p in Party)


class AgreementAcceptance(IdMixin, Base):
    """One party's acceptance: who, when, from where, and the hash of the exact text accepted."""

    __tablename__ = "agreement_acceptance"
    __table_args__ = (UniqueConstraint("agreement_id", "party", name="uq_agreement_acceptance_party"),)

    agreement_id: Mapped[str] = mapped_column(ForeignKey("data_agreement.id", ondelete="CASCADE"), index=True)
    party: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id"))
    accepted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64))

    agreement: Mapped[Agreement] = relationship(back_populates="acceptances")
    user: Mapped[User] = relationship(lazy="joined")
