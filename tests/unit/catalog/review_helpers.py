"""Shared set-up of the open-list tests: two providers (one with a sub-unit), the authority, an
expert and the public; entries made and reviewed through the real actions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import MembershipRole, Organisation, Role
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_review_step, do_submit_entry
from kaifang.config import Settings
from tests.factories import make_org, make_user
from tests.unit.catalog.test_entries import entry_input


@dataclass
class World:
    transport: Organisation
    transit: Organisation
    health: Organisation
    staff: Principal
    sub_staff: Principal
    health_staff: Principal
    reviewer: Principal
    expert: Principal
    auditor: Principal
    citizen: Principal


def make_world(session: Session, settings: Settings) -> World:
    transport = make_org(session, "transport", name="交通运输局")
    transit = make_org(session, "transit", parent=transport, name="公共交通服务中心")
    health = make_org(session, "health", name="卫生健康委员会")
    users = {
        "staff": make_user(session, settings, "staff", org=transport, membership=MembershipRole.STAFF),
        "sub_staff": make_user(session, settings, "sub_staff", org=transit),
        "health_staff": make_user(session, settings, "health_staff", org=health),
        "reviewer": make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,)),
        "expert": make_user(session, settings, "expert", roles=(Role.EXPERT,)),
        "auditor": make_user(session, settings, "auditor", roles=(Role.AUDITOR,)),
        "citizen": make_user(session, settings, "citizen", verified=True),
    }
    session.commit()
    return World(transport, transit, health, **{k: principal_for(session, u) for k, u in users.items()})


def draft(session: Session, world: World, name: str = "bus-stops", provider: Organisation | None = None,
          by: Principal | None = None, **fields: object) -> CatalogEntry:
    entry = do_create_entry(session, by or world.staff, provider or world.transport, entry_input(name, **fields))
    session.commit()
    return entry


def published(session: Session, settings: Settings, world: World, name: str = "bus-stops",
              **fields: object) -> CatalogEntry:
    entry = draft(session, world, name, **fields)
    do_submit_entry(session, settings, world.staff, entry)
    do_review_step(session, settings, world.reviewer, entry, "approve")
    do_review_step(session, settings, world.reviewer, entry, "publish")
    session.commit()
    return entry


def actions_on(session: Session, target_id: str) -> list[str]:
    stmt = select(AuditEvent.action).where(AuditEvent.target_id == target_id).order_by(AuditEvent.seq)
    return list(session.scalars(stmt))
