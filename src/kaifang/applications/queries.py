"""Reads of conditional access. ``access_application`` fetches and checks in one call: an
application one may not see does not exist (the case engine decides who sees a case)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kaifang.access.models import Grant, GrantStatus
from kaifang.applications.agreements import acceptance_refusal, party_of
from kaifang.applications.models import Application, Party
from kaifang.applications.workflows import APPLICATION, AUTHORITY_REVIEW, EVALUATING, OPEN_STATES
from kaifang.auth.models import Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import require_login
from kaifang.cases.models import Case
from kaifang.cases.queries import access_case, case_view
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import organisations_in_charge
from kaifang.errors import NotFound
from kaifang.i18n import _

LIST_LIMIT = 500
# A grant this close to its end is offered for renewal.
RENEWAL_DAYS = 30


def access_application(session: Session, actor: Principal, application_id: str) -> Application:
    case = access_case(session, actor, application_id)
    app = session.get(Application, case.id) if case.workflow == APPLICATION.key else None
    if app is None:
        raise NotFound(_("No such application."))
    return app


def _newest_first(stmt: Select[Application]) -> Select[Application]:
    return stmt.join(Case, Case.id == Application.id).order_by(Case.opened_at.desc()).limit(LIST_LIMIT)


def my_applications(session: Session, actor: Principal) -> list[Application]:
    user = require_login(actor)
    return list(session.scalars(_newest_first(select(Application).where(Application.applicant_id == user.id))))


def provider_applications(session: Session, actor: Principal, open_only: bool = True) -> list[Application]:
    """Applications to the actor's bodies and the bodies below them, the earliest due first."""
    orgs = organisations_in_charge(session, actor)
    if not orgs:
        return []
    stmt = (select(Application).join(Case, Case.id == Application.id)
            .where(Case.assignee_org_id.in_(orgs)).limit(LIST_LIMIT))
    if open_only:
        stmt = stmt.where(Case.state.in_(OPEN_STATES)).order_by(Case.overdue.desc(), Case.due_date, Case.opened_at)
    else:
        stmt = stmt.order_by(Case.opened_at.desc())
    return list(session.scalars(stmt))


def review_queue(session: Session, actor: Principal) -> list[Application]:
    """Agreements accepted by both parties and waiting for the authority (CQ 24)."""
    if not actor.has_role(Role.AUTHORITY_REVIEWER):
        raise NotFound(_("No such page."))
    stmt = (select(Application).join(Case, Case.id == Application.id)
            .where(Case.state == AUTHORITY_REVIEW).order_by(Case.opened_at))
    return list(session.scalars(stmt))


def latest_application(session: Session, entry_id: str, user_id: str) -> Application | None:
    return session.scalars(_newest_first(select(Application).where(
        Application.entry_id == entry_id, Application.applicant_id == user_id))).first()


def renewable(grant: Grant, today: dt.date) -> bool:
    """A grant ended by time, or ending soon, is offered for renewal (a new application)."""
    return grant.status == GrantStatus.ACTIVE and grant.valid_until <= today + dt.timedelta(days=RENEWAL_DAYS)


@dataclass(frozen=True)
class ApplicationView:
    """What one viewer may do on one application, for the page to show only those controls."""

    steps: frozenset[str]
    accept_as: Party | None
    may_accept: bool
    is_applicant: bool
    is_provider: bool

    def may(self, step: str) -> bool:
        return step in self.steps


def application_view(actor: Principal, app: Application) -> ApplicationView:
    steps = frozenset(t.name for t in case_view(actor, app.case).transitions)
    party = party_of(actor, app)
    return ApplicationView(steps=steps, accept_as=party, may_accept=acceptance_refusal(actor, app) is None,
                           is_applicant=party == Party.APPLICANT, is_provider=party == Party.PROVIDER)


# ----- supervision (LYG 39: applications not answered in time; LYG 24: feedback) ----------------

@dataclass
class ProviderCompliance:
    provider: Organisation
    overdue_open: list[Application] = field(default_factory=list)
    answered_late: list[Application] = field(default_factory=list)
    feedback_overdue: list[Grant] = field(default_factory=list)

    @property
    def problems(self) -> int:
        return len(self.overdue_open) + len(self.answered_late) + len(self.feedback_overdue)


def may_supervise(actor: Principal) -> bool:
    return any(actor.has_role(r) for r in (Role.AUTHORITY_REVIEWER, Role.AUDITOR, Role.PLATFORM_ADMIN))


def compliance(session: Session, actor: Principal) -> list[ProviderCompliance]:
    """Per provider: applications overdue now or answered after their due date, and grants whose
    usage feedback is overdue; providers with the most problems first."""
    if not may_supervise(actor):
        raise NotFound(_("No such page."))
    rows: dict[str, ProviderCompliance] = {}

    def of(org: Organisation) -> ProviderCompliance:
        return rows.setdefault(org.id, ProviderCompliance(org))

    late: Sequence[Application] = session.scalars(
        select(Application).join(Case, Case.id == Application.id).where(Case.overdue.is_(True))
        .order_by(Case.due_date)).all()
    for app in late:
        bucket = of(app.entry.provider)
        (bucket.overdue_open if app.case.state in EVALUATING else bucket.answered_late).append(app)
    grants = session.scalars(select(Grant).join(CatalogEntry, CatalogEntry.id == Grant.entry_id).where(
        Grant.feedback_overdue.is_(True), Grant.status == GrantStatus.ACTIVE).order_by(Grant.valid_until)).all()
    for grant in grants:
        of(grant.entry.provider).feedback_overdue.append(grant)
    return sorted(rows.values(), key=lambda r: (-r.problems, r.provider.name))


__all__ = ["ApplicationView", "ProviderCompliance", "access_application", "application_view", "compliance",
           "latest_application", "may_supervise", "my_applications", "provider_applications", "renewable",
           "review_queue"]
