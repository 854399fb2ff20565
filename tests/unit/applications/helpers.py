"""Shared set-up of the conditional access tests: a provider with a published conditional dataset of
five columns, verified and unverified users, and the application and decision inputs."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from kaifang.access.feedback import open_due_reports
from kaifang.access.models import Grant
from kaifang.applications.actions import do_apply, do_approve
from kaifang.applications.agreements import do_accept_agreement, do_review_agreement
from kaifang.applications.forms import ApplicationInput, ConditionInput, DecisionInput
from kaifang.applications.models import Application
from kaifang.applications.workflows import AUTHORITY_REVIEW
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for
from kaifang.cases.clocks import china_today
from kaifang.cases.reminders import mark_overdue
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.review import do_review_step, do_submit_entry
from kaifang.config import Settings
from tests.factories import make_user
from tests.unit.access.helpers import DataWorld, add_version, entry_fields, make_data_world
from tests.unit.cases.helpers import at

HEADER = ["company", "district", "industry", "capital", "founded"]
ROWS = [
    ["山城科技有限公司", "渝中区", "软件", 500, "2015-03-01"],
    ["江北物流有限公司", "江北区", "物流", 1200, "2012-07-15"],
    ["渝中餐饮有限公司", "渝中区", "餐饮", 80, "2019-11-20"],
    ["两江制造有限公司", "渝北区", "制造", 3000, "2008-01-09"],
    ["解放碑商贸有限公司", "渝中区", "零售", 260, "2021-05-30"],
    ["南岸文创有限公司", "南岸区", "文化", 150, "2017-09-12"],
]
TYPES = {"capital": "integer", "founded": "date"}
TITLES = {"company": "企业名称", "district": "所在区县", "industry": "行业门类", "capital": "注册资本（万元）",
          "founded": "成立日期"}


def publish_firms(session: Session, settings: Settings, world: DataWorld, name: str = "firms") -> CatalogEntry:
    """A published conditional entry whose data items have Chinese titles, with ``ROWS`` as its data."""
    items = [DataItemInput(h, TYPES.get(h, "string"), TITLES[h]) for h in HEADER]
    fields = entry_fields(name, "conditional", items, title="市场主体登记信息" if name == "firms" else f"市场主体登记信息 {name}")
    entry = do_create_entry(session, world.staff, world.provider, fields)
    do_submit_entry(session, settings, world.staff, entry)
    do_review_step(session, settings, world.reviewer, entry, "approve")
    do_review_step(session, settings, world.reviewer, entry, "publish")
    session.commit()
    add_version(settings, name, HEADER, ROWS)
    session.expire_all()
    return entry


def world_with_entry(session: Session, settings: Settings, name: str = "firms") -> tuple[DataWorld, CatalogEntry]:
    world = make_data_world(session, settings)
    return world, publish_firms(session, settings, world, name)


def unverified(session: Session, settings: Settings, name: str = "newcomer") -> Principal:
    user = make_user(session, settings, name)
    session.commit()
    return principal_for(session, user)


def application_input(**changes: Any) -> ApplicationInput:
    today = china_today()
    base = ApplicationInput(
        columns=list(HEADER), modes=["download", "api"], purpose="研究本市小微企业的行业分布。",
        scenario="学术研究报告中的统计分析，不公开个体数据。", security_measures="数据存放于内网加密服务器，专人管理。",
        use_from=today.isoformat(), use_until=(today + dt.timedelta(days=365)).isoformat())
    return replace(base, **changes)


def decision_input(**changes: Any) -> DecisionInput:
    today = china_today()
    base = DecisionInput(
        columns=["company", "district", "capital"], modes=["download"], valid_from=today.isoformat(),
        valid_until=(today + dt.timedelta(days=180)).isoformat(), feedback_every_months="3",
        conditions=(ConditionInput("district", "eq", "渝中区"),))
    return replace(base, **changes)


def apply(session: Session, settings: Settings, actor: Principal, entry: CatalogEntry, **changes: Any) -> Application:
    app = do_apply(session, settings, actor, entry, application_input(**changes))
    session.commit()
    return app


def approved(session: Session, settings: Settings, world: DataWorld, entry: CatalogEntry, **changes: Any) -> Application:
    app = apply(session, settings, world.citizen, entry)
    do_approve(session, settings, world.staff, app, decision_input(**changes))
    session.commit()
    return app


def accept_both(session: Session, settings: Settings, world: DataWorld, app: Application) -> None:
    assert app.agreement is not None
    do_accept_agreement(session, settings, world.staff, app, app.agreement.sha256)
    do_accept_agreement(session, settings, world.other if app.applicant_id == world.other.id else world.citizen,
                        app, app.agreement.sha256)
    if app.case.state == AUTHORITY_REVIEW:  # a jurisdiction whose authority reviews agreements (CQ 24)
        do_review_agreement(session, settings, world.reviewer, app, True)
    session.commit()


def overdue_world(session: Session, settings: Settings) -> tuple[DataWorld, CatalogEntry, Application, Grant]:
    """An application left unanswered past its due date over National Day 2025, and a grant whose
    first monthly usage report is overdue (through the feedback workflow's own jobs)."""
    world, entry = world_with_entry(session, settings)
    with at(dt.date(2025, 9, 1)):
        granted = apply(session, settings, world.other, entry, use_from="2025-09-01", use_until="2026-08-31")
        do_approve(session, settings, world.staff, granted, decision_input(
            valid_from="2025-09-01", valid_until="2026-08-31", feedback_every_months="1"))
        accept_both(session, settings, world, granted)
    with at(dt.date(2025, 9, 29)):
        late = apply(session, settings, world.citizen, entry, use_from="2025-10-09", use_until="2026-10-08")
    with at(dt.date(2025, 10, 1)):
        open_due_reports(session, settings)
    with at(dt.date(2025, 11, 3)):
        mark_overdue(session, settings)
    session.commit()
    grant = session.get(Grant, granted.grant_id)
    assert grant is not None
    return world, entry, late, grant
