"""Who may do what: the one table of role permissions and the checks built on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from kaifang.auth.models import MembershipRole, Organisation, Role, User, VerificationStatus


class Permission(StrEnum):
    ADMIN_AREA = "admin_area"
    MANAGE_USERS = "manage_users"
    MANAGE_ROLES = "manage_roles"
    MANAGE_ORGANISATIONS = "manage_organisations"
    REVIEW_IDENTITY = "review_identity"
    READ_AUDIT = "read_audit"
    READ_OUTBOX = "read_outbox"
    MANAGE_CALENDAR = "manage_calendar"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: frozenset(Permission),
    Role.AUTHORITY_REVIEWER: frozenset({Permission.ADMIN_AREA, Permission.REVIEW_IDENTITY}),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT}),
    Role.EXPERT: frozenset(),
}


@dataclass
class Principal:
    """The acting user (or nobody) with what they may do, computed once per request."""

    user: User | None
    verification: str | None = None
    permissions: frozenset[Permission] = field(default_factory=frozenset)
    via_token: bool = False

    @classmethod
    def anonymous(cls) -> Principal:
        return cls(user=None)

    @classmethod
    def for_user(cls, user: User, verification: str | None, via_token: bool = False) -> Principal:
        perms: set[Permission] = set()
        for grant in user.roles:
            perms |= ROLE_PERMISSIONS.get(Role(grant.role), frozenset())
        return cls(user=user, verification=verification, permissions=frozenset(perms),
                   via_token=via_token)

    @property
    def is_authenticated(self) -> bool:
        return self.user is not None

    @property
    def is_verified(self) -> bool:
        return self.verification == VerificationStatus.VERIFIED

    @property
    def id(self) -> str:
        return self.user.id if self.user else ""

    @property
    def audit_label(self) -> str:
        return self.user.username if self.user else "anonymous"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def has_role(self, role: Role) -> bool:
        return self.user is not None and self.user.has_role(role)

    def member_role(self, org: Organisation) -> MembershipRole | None:
        """The role held in ``org`` or, through the hierarchy, in a body above it."""
        if self.user is None:
            return None
        by_org = {m.organisation_id: MembershipRole(m.role) for m in self.user.memberships}
        node: Organisation | None = org
        while node is not None:
            if node.id in by_org:
                return by_org[node.id]
            node = node.parent
        return None

    def can_manage_members(self, org: Organisation) -> bool:
        return self.can(Permission.MANAGE_ORGANISATIONS) or self.member_role(org) == MembershipRole.HEAD

    def is_provider_user(self) -> bool:
        return self.user is not None and bool(self.user.memberships)
