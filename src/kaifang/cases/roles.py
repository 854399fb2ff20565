"""What an actor is with respect to one case (opener, assignee, provider head, authority…)."""

from __future__ import annotations

from kaifang.auth.models import MembershipRole, Role
from kaifang.auth.permissions import Principal
from kaifang.cases.models import Case
from kaifang.cases.workflow import CaseRole

# Roles that may read every case of the platform, not only their own.
OVERSIGHT_ROLES = frozenset({CaseRole.AUTHORITY, CaseRole.AUDITOR, CaseRole.ADMIN})
_PLATFORM_ROLES = {Role.AUTHORITY_REVIEWER: CaseRole.AUTHORITY, Role.EXPERT: CaseRole.EXPERT,
                   Role.AUDITOR: CaseRole.AUDITOR, Role.PLATFORM_ADMIN: CaseRole.ADMIN}


def _is_assignee(actor: Principal, case: Case) -> bool:
    if case.assignee_user_id is not None and case.assignee_user_id == actor.id:
        return True
    if case.assignee_org is not None and actor.member_role(case.assignee_org) is not None:
        return True
    return case.assignee_role is not None and actor.has_role(Role(case.assignee_role))


def case_roles(actor: Principal, case: Case) -> frozenset[CaseRole]:
    if actor.user is None:
        return frozenset()
    roles = {case_role for role, case_role in _PLATFORM_ROLES.items() if actor.has_role(role)}
    if case.opened_by_id == actor.id:
        roles.add(CaseRole.OPENER)
    if _is_assignee(actor, case):
        roles.add(CaseRole.ASSIGNEE)
    if case.assignee_org is not None and actor.member_role(case.assignee_org) == MembershipRole.HEAD:
        roles.add(CaseRole.PROVIDER_HEAD)
    return frozenset(roles)
