"""Builders for test data, going through the real actions (no rows written behind their back)."""

from __future__ import annotations

import itertools
import re

from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.actions import create_user_direct, grant_role_system
from kaifang.auth.models import (
    AccountType,
    IdentityVerification,
    Membership,
    MembershipRole,
    Organisation,
    OrgKind,
    Role,
    User,
    VerificationStatus,
)
from kaifang.config import Settings
from kaifang.demo import demo_uscc
from kaifang.identifiers import mask_resident_id

PASSWORD = "correct-horse-42"
_serial = itertools.count(100)


def make_org(session: Session, slug: str | None = None, *, kind: OrgKind = OrgKind.MUNICIPAL_DEPARTMENT,
             parent: Organisation | None = None, name: str | None = None) -> Organisation:
    n = next(_serial)
    org = Organisation(slug=slug or f"org-{n}", name=name or f"测试局{n}", kind=kind, parent=parent,
                       uscc=demo_uscc(n))
    session.add(org)
    session.flush()
    record(session, None, "organisation.create", target_type="organisation", target_id=org.id)
    return org


def make_user(session: Session, settings: Settings, username: str | None = None, *,
              roles: tuple[Role, ...] = (), org: Organisation | None = None,
              membership: MembershipRole | None = None, verified: bool = False,
              account_type: AccountType = AccountType.NATURAL_PERSON) -> User:
    name = username or f"user{next(_serial)}"
    user = create_user_direct(session, settings, username=name, email=f"{name}@example.test",
                              display_name=name.title(), account_type=account_type, password=PASSWORD)
    for role in roles:
        grant_role_system(session, user, role)
    if org is not None:
        session.add(Membership(user=user, organisation_id=org.id, role=membership or MembershipRole.STAFF))
        session.flush()
    if verified:
        session.add(IdentityVerification(
            user_id=user.id, document_kind="resident_id", real_name=name,
            number_masked=mask_resident_id("11010519491231002X"), number_digest="x" * 64,
            status=VerificationStatus.VERIFIED))
        session.flush()
    session.refresh(user)
    return user


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)
