"""A small hand-checked catalog: entries made through the real actions, published and indexed."""

from __future__ import annotations

import datetime as dt

import pytest

from kaifang.auth.models import MembershipRole
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.search import index_entry
from kaifang.catalog.vocab import OpenType
from tests.factories import make_org, make_user
from tests.unit.catalog.search.helpers import publish
from tests.unit.catalog.test_entries import entry_input

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)

# name, title, provider, domain, open type, formats, modes, frequency, use count, days after T0
CATALOG = [
    ("bus-stops", "公交站点位置信息", "transport", "transport", "unconditional", ["CSV", "JSON"], ["download", "api"], "monthly", 50, 1),
    ("bus-lines", "公交线路信息", "transport", "transport", "unconditional", ["CSV"], ["download"], "monthly", 10, 2),
    ("taxi-trips", "出租车运营数据", "transport", "transport", "conditional", ["CSV"], ["api"], "daily", 99, 3),
    ("hospitals", "医疗机构执业登记信息", "health", "health", "unconditional", ["XLSX"], ["download"], "yearly", 5, 4),
    ("clinic-stops", "社区诊所附近公交站点", "health", "health", "unconditional", ["CSV"], ["download"], "quarterly", 0, 5),
]


@pytest.fixture
def catalog(session, settings):
    orgs = {slug: make_org(session, slug, name=name) for slug, name in
            (("transport", "市交通运输局"), ("health", "市卫生健康委员会"))}
    staff = {slug: principal_for(session, make_user(session, settings, f"{slug}_staff", org=org,
                                                    membership=MembershipRole.STAFF))
             for slug, org in orgs.items()}
    entries = {}
    for name, title, org, domain, open_type, formats, modes, freq, uses, days in CATALOG:
        extra = {"legal_basis": "《公共数据开放条例》", "open_conditions": "实名申请"} if open_type != "unconditional" else {}
        entry = do_create_entry(session, staff[org], orgs[org], entry_input(
            name, title=title, domain_code=domain, open_type=open_type, formats=formats,
            access_modes=modes, update_frequency=freq, summary=f"{title}，由{orgs[org].name}提供。",
            keywords=[], **extra))
        entry.use_count = uses
        publish(session, entry, T0 + dt.timedelta(days=days))
        entries[name] = entry
    closed = do_create_entry(session, staff["health"], orgs["health"], entry_input(
        "patients", title="公交司机体检信息", domain_code="health", open_type=OpenType.NON_OPEN,
        legal_basis="《个人信息保护法》", share_type="not_shared", formats=["CSV"]))
    publish(session, closed, T0 + dt.timedelta(days=9))
    draft = do_create_entry(session, staff["transport"], orgs["transport"], entry_input(
        "draft-stops", title="公交站点草稿", formats=["PDF"]))
    index_entry(session, draft)
    session.commit()
    return {"orgs": orgs, "staff": staff, "entries": entries, "closed": closed, "draft": draft,
            "public": Principal.anonymous()}
