"""Who sees which catalog entries: one clause used by every list, search, feed and API.

- The public sees published entries that are unconditional or conditional (the metadata of
  conditional ones, never their data) and that the provider produced itself (SH 12, CQ 14).
- Members of a provider see all entries of their organisation and of the bodies below it.
- Government users (members of any provider) also see the sharing catalog: published entries
  shared with other bodies, whatever their open type.
- The authority, auditors and administrators see everything.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, true
from sqlalchemy.orm import Session

from kaifang.auth.models import Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import organisation_subtree
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import PUBLIC_OPEN_TYPES, EntryStatus, Origin, ShareType

OVERSEERS = (Role.AUTHORITY_REVIEWER, Role.AUDITOR, Role.PLATFORM_ADMIN)


def public_clause() -> ColumnElement[bool]:
    return and_(
        CatalogEntry.status == EntryStatus.PUBLISHED,
        CatalogEntry.open_type.in_([t.value for t in PUBLIC_OPEN_TYPES]),
        CatalogEntry.origin == Origin.OWN,
    )


def sharing_clause() -> ColumnElement[bool]:
    return and_(CatalogEntry.status == EntryStatus.PUBLISHED,
                CatalogEntry.share_type != ShareType.NOT_SHARED)


def sees_everything(actor: Principal) -> bool:
    return any(actor.has_role(role) for role in OVERSEERS)


def organisations_in_charge(session: Session, actor: Principal) -> set[str]:
    """The actor's organisations and every body below them."""
    if actor.user is None or not actor.user.memberships:
        return set()
    return organisation_subtree(session, {m.organisation_id for m in actor.user.memberships})


def visible_clause(session: Session, actor: Principal) -> ColumnElement[bool]:
    if sees_everything(actor):
        return true()
    own = organisations_in_charge(session, actor)
    if not own:
        return public_clause()
    return or_(public_clause(), sharing_clause(), CatalogEntry.provider_id.in_(own),
               CatalogEntry.submitted_by_org_id.in_(own))


def can_edit(session: Session, actor: Principal, entry: CatalogEntry) -> bool:
    if actor.user is None:
        return False
    own = organisations_in_charge(session, actor)
    return entry.provider_id in own or (entry.submitted_by_org_id in own if entry.submitted_by_org_id else False)


__all__ = ["can_edit", "organisations_in_charge", "public_clause",
           "sees_everything", "sharing_clause", "visible_clause"]
