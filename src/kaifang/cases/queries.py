"""Reads. ``access_case`` fetches and checks in one call: a case one may not see does not exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from kaifang.auth.models import Membership, MembershipRole, Role, RoleGrant, User
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import organisation_subtree, require_login
from kaifang.cases import rules
from kaifang.cases.models import Case, CaseAttachment, CaseClock, CaseEntry, Notification
from kaifang.cases.roles import OVERSIGHT_ROLES, case_roles
from kaifang.cases.workflow import CaseRole, Transition, Workflow, get, registered
from kaifang.errors import NotFound
from kaifang.i18n import _

INBOX_LIMIT = 500


def _is_participant(session: Session, actor: Principal, case: Case) -> bool:
    if actor.id in (case.opened_by_id, case.assignee_user_id):
        return True
    return bool(session.scalar(select(exists().where(CaseEntry.case_id == case.id,
                                                     CaseEntry.author_id == actor.id))))


def may_see(session: Session, actor: Principal, case: Case) -> bool:
    roles = case_roles(actor, case)
    if roles & (OVERSIGHT_ROLES | {CaseRole.OPENER, CaseRole.ASSIGNEE, CaseRole.PROVIDER_HEAD}):
        return True
    return actor.user is not None and _is_participant(session, actor, case)


def access_case(session: Session, actor: Principal, case_id: str) -> Case:
    require_login(actor)
    case = session.get(Case, case_id)
    if case is None or not may_see(session, actor, case):
        raise NotFound(_("No such case."))
    return case


def access_attachment(session: Session, actor: Principal, case_id: str, attachment_id: str) -> CaseAttachment:
    case = access_case(session, actor, case_id)
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case.id:
        raise NotFound(_("No such attachment."))
    return row


@dataclass(frozen=True)
class CaseView:
    """What one actor may do on one case, for the page to show only those controls."""

    workflow: Workflow
    roles: frozenset[CaseRole]
    transitions: list[Transition]
    may_post: bool
    may_request_extension: bool
    may_decide_extension: bool
    may_pause: bool
    may_resume: bool


def case_view(actor: Principal, case: Case) -> CaseView:
    wf = get(case.workflow)
    roles = case_roles(actor, case)
    return CaseView(
        workflow=wf, roles=roles,
        transitions=rules.allowed_transitions(wf, case, roles) if case.is_open else [],
        may_post=rules.refuse_posting(case, roles) is None,
        may_request_extension=rules.refuse_extension_request(wf, case, roles) is None,
        may_decide_extension=rules.refuse_extension_decision(wf, case, roles) is None,
        may_pause=rules.refuse_pause(wf, case, roles, pausing=True) is None,
        may_resume=rules.refuse_pause(wf, case, roles, pausing=False) is None,
    )


def entries(session: Session, case: Case) -> list[CaseEntry]:
    return list(session.scalars(select(CaseEntry).where(CaseEntry.case_id == case.id)
                                .order_by(CaseEntry.seq, CaseEntry.created_at)))


def _candidates(session: Session, actor: Principal) -> Select[Case]:
    user = require_login(actor)
    roles = [g.role for g in user.roles]
    orgs = organisation_subtree(session, {m.organisation_id for m in user.memberships})
    authority_workflows = [wf.key for wf in registered()
                           if any(CaseRole.AUTHORITY in t.allowed_roles for t in wf.transitions)]
    authority = actor.has_role(Role.AUTHORITY_REVIEWER)
    mine = or_(
        Case.opened_by_id == user.id, Case.assignee_user_id == user.id,
        Case.assignee_org_id.in_(orgs) if orgs else false(),
        Case.assignee_role.in_(roles) if roles else false(),
        Case.workflow.in_(authority_workflows) if authority else false(),
    )
    return select(Case).where(Case.closed_at.is_(None), mine).limit(INBOX_LIMIT)


def _actionable(actor: Principal, case: Case) -> bool:
    wf = get(case.workflow)
    roles = case_roles(actor, case)
    return bool(roles & rules.whose_turn(wf, case.state)) or (
        rules.refuse_extension_decision(wf, case, roles) is None)


def _urgency(case: Case) -> tuple[bool, dt.date, dt.datetime]:
    return (not case.overdue, case.due_date or dt.date.max, case.opened_at)


def inbox(session: Session, actor: Principal) -> list[Case]:
    """Open cases waiting for this actor, overdue first, then by due date."""
    cases = [c for c in session.scalars(_candidates(session, actor)) if _actionable(actor, c)]
    return sorted(cases, key=_urgency)


def my_cases(session: Session, actor: Principal, limit: int = 100) -> list[Case]:
    user = require_login(actor)
    return list(session.scalars(select(Case).where(Case.opened_by_id == user.id)
                                .order_by(Case.opened_at.desc()).limit(limit)))


def overdue_cases(session: Session, today: dt.date) -> list[Case]:
    """Open cases whose running, unpaused clock was due before ``today``."""
    running = and_(CaseClock.case_id == Case.id, CaseClock.stopped_on.is_(None))
    stmt = (select(Case).join(CaseClock, running)
            .where(Case.closed_at.is_(None), Case.due_date < today).order_by(Case.due_date))
    return [c for c in session.scalars(stmt) if not c.clock_paused]


def running_cases(session: Session, today: dt.date) -> list[Case]:
    """Open cases with a running, unpaused clock due today or later (candidates for reminders)."""
    running = and_(CaseClock.case_id == Case.id, CaseClock.stopped_on.is_(None))
    stmt = select(Case).join(CaseClock, running).where(Case.closed_at.is_(None), Case.due_date >= today)
    return [c for c in session.scalars(stmt) if not c.clock_paused]


def users_with_role(session: Session, role: Role) -> list[User]:
    return list(session.scalars(select(User).join(RoleGrant, RoleGrant.user_id == User.id)
                                .where(RoleGrant.role == role, User.is_active.is_(True))))


def members_of(session: Session, org_id: str, role: MembershipRole | None = None) -> list[User]:
    stmt = (select(User).join(Membership, Membership.user_id == User.id)
            .where(Membership.organisation_id == org_id, User.is_active.is_(True)))
    if role is not None:
        stmt = stmt.where(Membership.role == role)
    return list(session.scalars(stmt))


def assignees(session: Session, case: Case) -> list[User]:
    """The people a case waits for: the assigned user, the assigned body's members or the holders
    of the assigned platform role."""
    found: list[User] = []
    if case.assignee_user is not None:
        found.append(case.assignee_user)
    if case.assignee_org_id is not None:
        found += members_of(session, case.assignee_org_id)
    if case.assignee_role is not None:
        found += users_with_role(session, Role(case.assignee_role))
    return _unique(found)


def parties(session: Session, case: Case) -> list[User]:
    """Everyone told about a step: the opener and the assignees."""
    opener = [case.opened_by] if case.opened_by is not None and case.opened_by.is_active else []
    return _unique(opener + assignees(session, case))


def _unique(users: list[User]) -> list[User]:
    seen: dict[str, User] = {}
    for user in users:
        seen.setdefault(user.id, user)
    return list(seen.values())


def notifications(session: Session, actor: Principal, limit: int = 50) -> list[Notification]:
    user = require_login(actor)
    return list(session.scalars(select(Notification).where(Notification.user_id == user.id)
                                .order_by(Notification.created_at.desc()).limit(limit)))


def unread_count(session: Session, actor: Principal) -> int:
    user = require_login(actor)
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def provider_heads(session: Session, case: Case) -> list[User]:
    """The head of the assigned body, or of the nearest body above it that has one."""
    org = case.assignee_org
    while org is not None:
        heads = members_of(session, org.id, MembershipRole.HEAD)
        if heads:
            return heads
        org = org.parent
    return []


def holders_of(session: Session, case: Case, role: CaseRole) -> list[User]:
    """The people who hold ``role`` on ``case`` (who approves, who is escalated to…)."""
    if role == CaseRole.OPENER:
        return [case.opened_by] if case.opened_by is not None else []
    if role == CaseRole.ASSIGNEE:
        return assignees(session, case)
    if role == CaseRole.PROVIDER_HEAD:
        return provider_heads(session, case)
    platform = {CaseRole.AUTHORITY: Role.AUTHORITY_REVIEWER, CaseRole.EXPERT: Role.EXPERT,
                CaseRole.AUDITOR: Role.AUDITOR, CaseRole.ADMIN: Role.PLATFORM_ADMIN}
    return users_with_role(session, platform[role])
