from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kaifang.db import Base, IdMixin, TimestampMixin, utcnow
from kaifang.i18n import N_


class OrgKind(StrEnum):
    MUNICIPAL_DEPARTMENT = "municipal_department"
    DISTRICT_GOVERNMENT = "district_government"
    PUBLIC_INSTITUTION = "public_institution"
    PUBLIC_UTILITY = "public_utility"
    ENTERPRISE = "enterprise"
    SOCIAL_ORGANISATION = "social_organisation"


ORG_KIND_LABELS = {
    OrgKind.MUNICIPAL_DEPARTMENT: N_("Government department"),
    OrgKind.DISTRICT_GOVERNMENT: N_("District government"),
    OrgKind.PUBLIC_INSTITUTION: N_("Public institution"),
    OrgKind.PUBLIC_UTILITY: N_("Public utility"),
    OrgKind.ENTERPRISE: N_("Enterprise"),
    OrgKind.SOCIAL_ORGANISATION: N_("Social organisation"),
}


class AccountType(StrEnum):
    NATURAL_PERSON = "natural_person"
    LEGAL_PERSON = "legal_person"
    OTHER_ORGANISATION = "other_organisation"


ACCOUNT_TYPE_LABELS = {
    AccountType.NATURAL_PERSON: N_("Natural person"),
    AccountType.LEGAL_PERSON: N_("Legal person"),
    AccountType.OTHER_ORGANISATION: N_("Other organisation"),
}


class Role(StrEnum):
    """Platform-wide roles; roles inside one organisation are MembershipRole."""

    PLATFORM_ADMIN = "platform_admin"
    AUTHORITY_REVIEWER = "authority_reviewer"
    AUDITOR = "auditor"
    EXPERT = "expert"


ROLE_LABELS = {
    Role.PLATFORM_ADMIN: N_("Platform administrator"),
    Role.AUTHORITY_REVIEWER: N_("Authority reviewer"),
    Role.AUDITOR: N_("Auditor"),
    Role.EXPERT: N_("Expert"),
}


class MembershipRole(StrEnum):
    STAFF = "staff"
    HEAD = "head"


MEMBERSHIP_ROLE_LABELS = {
    MembershipRole.STAFF: N_("Provider staff"),
    MembershipRole.HEAD: N_("Provider head"),
}


class VerificationStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


VERIFICATION_STATUS_LABELS = {
    VerificationStatus.PENDING: N_("Pending"),
    VerificationStatus.VERIFIED: N_("Verified"),
    VerificationStatus.REJECTED: N_("Rejected"),
}


class Organisation(IdMixin, TimestampMixin, Base):
    __tablename__ = "organisation"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Organisation | None] = relationship(remote_side="Organisation.id",
                                                       back_populates="children")
    children: Mapped[list[Organisation]] = relationship(back_populates="parent",
                                                        order_by="Organisation.name")

    @property
    def audit_label(self) -> str:
        return self.name


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    account_type: Mapped[str] = mapped_column(String(40))
    # For legal persons and other organisations: the body the account speaks for.
    entity_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    # Bumped on password change or reset: every older session cookie stops working.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    preferred_locale: Mapped[str] = mapped_column(String(10), default="")
    last_login_at: Mapped[dt.datetime | None] = mapped_column()

    roles: Mapped[list[RoleGrant]] = relationship(back_populates="user", lazy="selectin",
                                                  cascade="all, delete-orphan",
                                                  foreign_keys="RoleGrant.user_id")
    memberships: Mapped[list[Membership]] = relationship(back_populates="user", lazy="selectin",
                                                         cascade="all, delete-orphan")

    @property
    def audit_label(self) -> str:
        return self.username

    def has_role(self, role: Role) -> bool:
        return any(grant.role == role for grant in self.roles)


class RoleGrant(IdMixin, Base):
    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_role_grant_user_role"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(40))
    granted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    granted_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(back_populates="roles", foreign_keys=[user_id])


class Membership(IdMixin, Base):
    __tablename__ = "membership"
    __table_args__ = (
        UniqueConstraint("user_id", "organisation_id", name="uq_membership_user_org"),
        # One head per provider (CQ 7); both engines support partial unique indexes.
        Index("uq_membership_one_head", "organisation_id", unique=True,
              sqlite_where=text("role = 'head'"), postgresql_where=text("role = 'head'")),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisation.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class IdentityVerification(IdMixin, Base):
    """A claim of identity (CQ 23). Only a masked number and a keyed hash are kept."""

    __tablename__ = "identity_verification"

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    document_kind: Mapped[str] = mapped_column(String(30))
    real_name: Mapped[str] = mapped_column(String(200))
    number_masked: Mapped[str] = mapped_column(String(40))
    number_digest: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20), default=VerificationStatus.PENDING)
    reason: Mapped[str] = mapped_column(Text, default="")
    verifier: Mapped[str] = mapped_column(String(80), default="")
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    decided_by_id: Mapped[str | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApiToken(IdMixin, Base):
    __tablename__ = "api_token"

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column()
    revoked_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column()
    last_used_ip: Mapped[str] = mapped_column(String(64), default="")
    # Limits of the data API for this token; None = the platform's defaults (api_* settings).
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    daily_quota: Mapped[int | None] = mapped_column(Integer)

    user: Mapped[User] = relationship()

    def is_usable(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class PasswordReset(IdMixin, Base):
    __tablename__ = "password_reset"

    user_id: Mapped[str] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column()
    used_at: Mapped[dt.datetime | None] = mapped_column()
