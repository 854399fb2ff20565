"""Catalog entries: validation (legal basis for conditional and non-open) and visibility by role."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import MembershipRole, Role
from kaifang.auth.queries import principal_for
from kaifang.catalog.actions import do_create_entry, do_update_entry
from kaifang.catalog.forms import DataItemInput, EntryInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.queries import access_entry, count_visible
from kaifang.catalog.vocab import EntryStatus, OpenType
from kaifang.errors import Forbidden, NotFound, ValidationFailed
from tests.factories import make_org, make_user


def entry_input(name="bus-stops", open_type=OpenType.UNCONDITIONAL, **kw) -> EntryInput:
    values = {
        "name": name, "title": "公交站点位置信息", "summary": "全市公交站点的名称、位置和线路。",
        "domain_code": "transport", "open_type": open_type, "update_frequency": "monthly",
        "access_modes": ["download", "api"], "formats": ["CSV"], "keywords": ["公交", "站点"],
        "items": [DataItemInput("stop_name", "string", "站点名称"), DataItemInput("lng", "decimal", "经度")],
    }
    values.update(kw)
    return EntryInput(**values)


@pytest.fixture
def world(session, settings):
    city = make_org(session, "transport")
    sub = make_org(session, "transit", parent=city)
    other = make_org(session, "health")
    people = {
        "staff": make_user(session, settings, "staff", org=city, membership=MembershipRole.STAFF),
        "sub_staff": make_user(session, settings, "sub_staff", org=sub),
        "health_staff": make_user(session, settings, "health_staff", org=other),
        "reviewer": make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,)),
        "auditor": make_user(session, settings, "auditor", roles=(Role.AUDITOR,)),
        "citizen": make_user(session, settings, "citizen", verified=True),
    }
    session.commit()
    return {"city": city, "sub": sub, "other": other,
            **{k: principal_for(session, u) for k, u in people.items()}}


@pytest.mark.parametrize("open_type", [OpenType.CONDITIONAL, OpenType.NON_OPEN])
def test_legal_basis_required(session, world, open_type):
    with pytest.raises(ValidationFailed) as exc:
        do_create_entry(session, world["staff"], world["city"],
                        entry_input(open_type=open_type, open_conditions="实名申请"))
    assert "legal_basis" in exc.value.fields
    assert session.scalar(select(CatalogEntry)) is None


def test_every_bad_field_is_named(session, world):
    bad = entry_input(name="Bad Name", title="", domain_code="nope", update_frequency="hourly",
                      access_modes=["fax"], temporal_start="2024-13-01",
                      items=[DataItemInput("a b", "blob"), DataItemInput("x", "string"), DataItemInput("x", "string")])
    with pytest.raises(ValidationFailed) as exc:
        do_create_entry(session, world["staff"], world["city"], bad)
    assert {"name", "title", "domain_code", "update_frequency", "access_modes", "temporal_start",
            "items.1", "items.3"} <= set(exc.value.fields)


def test_department_creates_for_sub_unit_and_is_recorded(session, world):
    entry = do_create_entry(session, world["staff"], world["sub"], entry_input())
    session.commit()
    assert entry.submitted_by_org_id == world["city"].id and entry.status == EntryStatus.DRAFT
    assert [i.name for i in entry.items] == ["stop_name", "lng"]
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.create")).one()
    assert event.target_id == entry.id


def test_other_provider_cannot_create_or_edit(session, world):
    with pytest.raises(Forbidden):
        do_create_entry(session, world["health_staff"], world["city"], entry_input())
    entry = do_create_entry(session, world["staff"], world["city"], entry_input())
    with pytest.raises(Forbidden):
        do_update_entry(session, world["health_staff"], entry, entry_input())


def _publish(session, entry):
    entry.status = EntryStatus.PUBLISHED
    session.commit()


def test_visibility_by_role(session, world):
    open_entry = do_create_entry(session, world["staff"], world["city"], entry_input("open-one"))
    closed = do_create_entry(session, world["staff"], world["city"], entry_input(
        "closed-one", open_type=OpenType.NON_OPEN, legal_basis="《个人信息保护法》第十三条",
        share_type="not_shared"))
    _publish(session, open_entry)
    _publish(session, closed)
    anonymous = principal_for.__globals__["Principal"].anonymous()
    for who in (anonymous, world["citizen"]):
        assert access_entry(session, who, "open-one").id == open_entry.id
        with pytest.raises(NotFound):
            access_entry(session, who, "closed-one")
        assert count_visible(session, who) == 1
    for who in ("staff", "reviewer", "auditor"):
        assert access_entry(session, world[who], "closed-one").id == closed.id
    with pytest.raises(NotFound):  # another provider: not shared, not theirs
        access_entry(session, world["health_staff"], "closed-one")


def test_published_entry_cannot_be_edited(session, world):
    entry = do_create_entry(session, world["staff"], world["city"], entry_input())
    _publish(session, entry)
    from kaifang.errors import Conflict
    with pytest.raises(Conflict):
        do_update_entry(session, world["staff"], entry, entry_input())
