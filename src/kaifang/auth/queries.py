"""Reads. ``access_*`` helpers fetch and check permission in one call: missing and forbidden look alike."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kaifang.auth.models import (
    ApiToken,
    IdentityVerification,
    Membership,
    Organisation,
    User,
    VerificationStatus,
)
from kaifang.auth.permissions import Permission, Principal
from kaifang.auth.secrets import prefix_of, token_digest
from kaifang.errors import Forbidden, NotAuthenticated, NotFound
from kaifang.i18n import _


def require_login(actor: Principal) -> User:
    if actor.user is None:
        raise NotAuthenticated(_("Please log in first."))
    return actor.user


def require(actor: Principal, permission: Permission) -> User:
    user = require_login(actor)
    if not actor.can(permission):
        raise Forbidden(_("You do not have permission to do this."))
    return user


def user_by_login(session: Session, login: str) -> User | None:
    login = login.strip()
    return session.scalars(
        select(User).where(or_(User.username == login, func.lower(User.email) == login.lower()))
    ).first()


def latest_verification(session: Session, user_id: str) -> IdentityVerification | None:
    return session.scalars(
        select(IdentityVerification)
        .where(IdentityVerification.user_id == user_id)
        .order_by(IdentityVerification.submitted_at.desc())
    ).first()


def principal_for(session: Session, user: User, via_token: bool = False) -> Principal:
    latest = latest_verification(session, user.id)
    return Principal.for_user(user, latest.status if latest else None, via_token=via_token)


def user_for_token(session: Session, token: str, now: dt.datetime) -> tuple[User, ApiToken] | None:
    prefix = prefix_of(token)
    if prefix is None:
        return None
    row = session.scalars(select(ApiToken).where(ApiToken.prefix == prefix)).first()
    if row is None or row.token_hash != token_digest(token) or not row.is_usable(now):
        return None
    if not row.user.is_active:
        return None
    return row.user, row


def list_tokens(session: Session, actor: Principal) -> list[ApiToken]:
    user = require_login(actor)
    return list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    ))


def access_own_token(session: Session, actor: Principal, token_id: str) -> ApiToken:
    user = require_login(actor)
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("No such token."))
    return row


def list_organisations(session: Session, include_inactive: bool = False) -> list[Organisation]:
    stmt = select(Organisation).order_by(Organisation.name)
    if not include_inactive:
        stmt = stmt.where(Organisation.is_active.is_(True))
    return list(session.scalars(stmt))


def organisation_tree(session: Session) -> list[tuple[Organisation, int]]:
    """Active organisations in display order with their depth in the hierarchy."""
    orgs = list_organisations(session)
    children: dict[str | None, list[Organisation]] = {}
    for org in orgs:
        children.setdefault(org.parent_id, []).append(org)
    ids = {o.id for o in orgs}
    out: list[tuple[Organisation, int]] = []

    def walk(parent: str | None, depth: int) -> None:
        for org in children.get(parent, []):
            out.append((org, depth))
            walk(org.id, depth + 1)

    walk(None, 0)
    # Bodies whose parent is inactive still appear, at the top level.
    for org in orgs:
        if org.parent_id and org.parent_id not in ids:
            out.append((org, 0))
            walk(org.id, 1)
    return out


def organisation_subtree(session: Session, roots: set[str]) -> set[str]:
    """``roots`` and every body below them: a member of a department acts for its sub-units."""
    children: dict[str | None, list[str]] = {}
    for org_id, parent_id in session.execute(select(Organisation.id, Organisation.parent_id)):
        children.setdefault(parent_id, []).append(org_id)
    found, stack = set(roots), list(roots)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def access_organisation(session: Session, actor: Principal, slug: str) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None or (not org.is_active and not actor.can(Permission.MANAGE_ORGANISATIONS)):
        raise NotFound(_("No such organisation."))
    return org


def access_organisation_members(
    session: Session, actor: Principal, slug: str
) -> tuple[Organisation, list[Membership]]:
    org = access_organisation(session, actor, slug)
    if actor.member_role(org) is None and not actor.can(Permission.MANAGE_ORGANISATIONS):
        raise NotFound(_("No such organisation."))
    members = list(session.scalars(
        select(Membership).where(Membership.organisation_id == org.id).order_by(Membership.role)
    ))
    return org, members


def list_users(session: Session, actor: Principal, q: str = "", limit: int = 200) -> list[User]:
    require(actor, Permission.MANAGE_USERS)
    stmt = select(User).order_by(User.created_at.desc()).limit(limit)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(User.username.ilike(like), User.email.ilike(like),
                              User.display_name.ilike(like)))
    return list(session.scalars(stmt))


def access_user(session: Session, actor: Principal, user_id: str) -> User:
    require(actor, Permission.MANAGE_USERS)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def pending_verifications(session: Session, actor: Principal) -> list[IdentityVerification]:
    require(actor, Permission.REVIEW_IDENTITY)
    return list(session.scalars(
        select(IdentityVerification)
        .where(IdentityVerification.status == VerificationStatus.PENDING)
        .order_by(IdentityVerification.submitted_at)
    ))


def access_verification(session: Session, actor: Principal, verification_id: str) -> IdentityVerification:
    require(actor, Permission.REVIEW_IDENTITY)
    row = session.get(IdentityVerification, verification_id)
    if row is None:
        raise NotFound(_("No such verification request."))
    return row
