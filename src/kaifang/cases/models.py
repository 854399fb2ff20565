"""Tables of the case engine: cases, their clocks and pauses, the thread, attachments, notifications."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.auth.models import Organisation, User
from kaifang.db import Base, IdMixin, utcnow
from kaifang.i18n import N_


class EntryKind(StrEnum):
    MESSAGE = "message"
    TRANSITION = "transition"
    ATTACHMENT = "attachment"
    SYSTEM = "system"


class ExtensionStatus(StrEnum):
    NONE = ""
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


# Events of the thread other than messages and transitions; ``CaseEntry.data`` fills the labels.
SYSTEM_EVENT_LABELS = {
    "extension_request": N_("Asked to extend the deadline by %(days)s days"),
    "extension_approve": N_("Approved extending the deadline by %(days)s days"),
    "extension_decline": N_("Declined extending the deadline"),
    "pause_clock": N_("Stopped the clock"),
    "resume_clock": N_("Restarted the clock"),
    "overdue": N_("The due date %(due)s has passed: the case is overdue and has been escalated"),
}

EXTENSION_STATUS_LABELS = {
    ExtensionStatus.PENDING: N_("Extension requested"),
    ExtensionStatus.APPROVED: N_("Extension approved"),
    ExtensionStatus.DECLINED: N_("Extension declined"),
}


class Case(IdMixin, Base):
    """One matter handled under a workflow: a state, a running clock, an assignee and a thread."""

    __tablename__ = "case_file"  # "case" is a reserved word in SQL
    __table_args__ = (
        Index("ix_case_file_open_due", "closed_at", "due_date"),
        Index("ix_case_file_subject", "subject_type", "subject_id"),
    )

    workflow: Mapped[str] = mapped_column(String(40), index=True)
    state: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    subject_type: Mapped[str] = mapped_column(String(40), default="")
    subject_id: Mapped[str] = mapped_column(String(64), default="")
    opened_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    assignee_user_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    assignee_org_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    # A platform role whose holders share the queue (the authority for "contact" cases).
    assignee_role: Mapped[str | None] = mapped_column(String(40))
    profile_key: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    calendar_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[dt.datetime | None] = mapped_column()
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated_at: Mapped[dt.datetime | None] = mapped_column()
    # Optimistic lock: two people acting on the same case at once cannot both succeed.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    assignee_user: Mapped[User | None] = relationship(foreign_keys=[assignee_user_id])
    assignee_org: Mapped[Organisation | None] = relationship()
    clocks: Mapped[list[CaseClock]] = relationship(back_populates="case", order_by="CaseClock.seq",
                                                   cascade="all, delete-orphan", lazy="selectin")
    entries: Mapped[list[CaseEntry]] = relationship(back_populates="case", order_by="CaseEntry.seq",
                                                    cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def clock(self) -> CaseClock | None:
        """The running clock, if any."""
        running = [c for c in self.clocks if c.stopped_on is None]
        return running[-1] if running else None

    @property
    def clock_paused(self) -> bool:
        return self.clock is not None and self.clock.open_pause is not None

    @property
    def audit_label(self) -> str:
        return self.title


class CaseClock(IdMixin, Base):
    """A statutory period copied from the jurisdiction profile when it starts, so later profile
    changes never move the deadline of a case already running."""

    __tablename__ = "case_clock"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(Text, default="")
    started_on: Mapped[dt.date] = mapped_column(Date)
    stopped_on: Mapped[dt.date | None] = mapped_column(Date)
    # The most the profile allows, and who must approve it; None = not extendable.
    extension_limit: Mapped[int | None] = mapped_column(Integer)
    extension_approver: Mapped[str | None] = mapped_column(String(40))
    extension_status: Mapped[str] = mapped_column(String(10), default=ExtensionStatus.NONE)
    extension_amount: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str] = mapped_column(Text, default="")
    extension_requested_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    extension_requested_at: Mapped[dt.datetime | None] = mapped_column()
    approved_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column()

    case: Mapped[Case] = relationship(back_populates="clocks")
    pauses: Mapped[list[ClockPause]] = relationship(back_populates="clock", order_by="ClockPause.paused_on",
                                                    cascade="all, delete-orphan", lazy="selectin")
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    extension_requested_by: Mapped[User | None] = relationship(foreign_keys=[extension_requested_by_id])

    @property
    def extended(self) -> bool:
        return self.extension_status == ExtensionStatus.APPROVED

    @property
    def extended_by(self) -> int:
        return (self.extension_amount or 0) if self.extended else 0

    @property
    def open_pause(self) -> ClockPause | None:
        return next((p for p in self.pauses if p.resumed_on is None), None)


class ClockPause(IdMixin, Base):
    """An interval in which the clock stood still (补正, third-party consultation…)."""

    __tablename__ = "case_clock_pause"

    clock_id: Mapped[str] = mapped_column(ForeignKey("case_clock.id", ondelete="CASCADE"), index=True)
    paused_on: Mapped[dt.date] = mapped_column(Date)
    resumed_on: Mapped[dt.date | None] = mapped_column(Date)

    clock: Mapped[CaseClock] = relationship(back_populates="pauses")


class CaseAttachment(IdMixin, Base):
    __tablename__ = "case_attachment"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    sha256: Mapped[str] = mapped_column(String(64))
    # Relative to settings.data_dir / "attachments"; files are stored by content hash.
    stored_path: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CaseEntry(IdMixin, Base):
    """One item of the case's thread, in order."""

    __tablename__ = "case_entry"

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    transition: Mapped[str] = mapped_column(String(40), default="")
    from_state: Mapped[str] = mapped_column(String(40), default="")
    to_state: Mapped[str] = mapped_column(String(40), default="")
    attachment_id: Mapped[str | None] = mapped_column(ForeignKey("case_attachment.id"))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="entries")
    author: Mapped[User | None] = relationship()
    attachment: Mapped[CaseAttachment | None] = relationship(lazy="joined")


class Notification(IdMixin, Base):
    """An in-app message to one user, written in their language when it was sent."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    case_id: Mapped[str | None] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column()


class CaseReminder(IdMixin, Base):
    """A reminder already sent, so each lead day reminds once per due date."""

    __tablename__ = "case_reminder"
    __table_args__ = (UniqueConstraint("case_id", "lead_workdays", "due_date",
                                       name="uq_case_reminder_once"),)

    case_id: Mapped[str] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), index=True)
    lead_workdays: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[dt.date] = mapped_column(Date)
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
