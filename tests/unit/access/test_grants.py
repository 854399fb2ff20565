"""Grants: making one from an agreement's scope, suspending, resuming and revoking it with a
reason (the provider's side and the authority only), and the reads of the grant pages — who may
manage which grants, each grant's use from the access log, its row filter in words."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from kaifang.access import log as access_log
from kaifang.access.grants import do_create_grant, do_resume_grant, do_revoke_grant, do_suspend_grant
from kaifang.access.log import Access, Who
from kaifang.access.models import Channel, GrantStatus
from kaifang.access.queries import (
    access_entry_to_manage,
    access_grant_to_manage,
    access_org_to_manage,
    count_in_force,
    filter_words,
    grants_of_org,
    my_grants,
    titles_of,
    usage_of,
)
from kaifang.audit.models import AuditEvent
from kaifang.auth.models import User
from kaifang.cases.clocks import china_today
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.i18n import reset_locale, set_locale
from tests.unit.access.grant_helpers import grant_for, grantee, publish_residents
from tests.unit.access.helpers import make_data_world, publish_entry


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    token = set_locale("en")
    yield
    reset_locale(token)


@pytest.fixture
def world(session, settings):
    world = make_data_world(session, settings)
    world.entry = publish_residents(session, settings, world, n=12)
    return world


def _user(session, principal) -> User:
    user = session.get(User, principal.id)
    assert user is not None
    return user


def test_a_grant_is_made_only_of_what_the_dataset_has(world, session):
    today = china_today()
    scope = {"entry": world.entry, "user": _user(session, world.citizen), "valid_from": today,
             "valid_until": today + dt.timedelta(days=30)}
    with pytest.raises(ValidationFailed) as refused:
        do_create_grant(session, world.staff, columns=["姓名", "学历"], row_filter=[{"column": "年龄", "op": "gt",
                                                                                "value": "老"}],
                        modes=["algorithm"], **scope)
    assert {"columns", "row_filter.0", "modes"} <= set(refused.value.fields)
    with pytest.raises(ValidationFailed) as refused:
        do_create_grant(session, world.staff, columns=["姓名"], row_filter=[], modes=["api"],
                        **{**scope, "valid_until": today - dt.timedelta(days=1)})
    assert "valid_until" in refused.value.fields
    grant = do_create_grant(session, world.staff, columns=["姓名", "姓名", "年龄"],
                            row_filter=[{"column": "年龄", "op": "gte", "value": "30"}], modes=["download", "api"],
                            **scope)
    assert grant.columns == ["姓名", "年龄"] and grant.modes == ["api", "download"]
    assert grant.row_filter == [{"column": "年龄", "op": "gte", "value": 30}]
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "grant.create")) == 1


def test_only_conditional_data_is_granted(world, session, settings):
    open_entry = publish_entry(session, settings, world, "parks", ["公园"], [["苍梧绿园"]])
    with pytest.raises(Conflict):
        do_create_grant(session, world.staff, entry=open_entry, user=_user(session, world.citizen), columns=["公园"],
                        row_filter=[], modes=["api"], valid_from=china_today(), valid_until=china_today())


def test_suspend_resume_revoke_need_the_provider_or_the_authority_and_a_reason(world, session):
    grant = grant_for(session, world, world.entry, world.citizen)
    for outsider in (world.citizen, world.other):
        with pytest.raises(Forbidden):
            do_suspend_grant(session, outsider, grant, "想暂停")
    with pytest.raises(ValidationFailed) as refused:
        do_suspend_grant(session, world.staff, grant, "  ")
    assert "reason" in refused.value.fields
    do_suspend_grant(session, world.staff, grant, "违反协议第五条")
    assert (grant.status, grant.status_reason, grant.status_changed_by_id) == ("suspended", "违反协议第五条",
                                                                            world.staff.id)
    with pytest.raises(Conflict):
        do_suspend_grant(session, world.staff, grant, "再次暂停")
    do_resume_grant(session, world.reviewer, grant)
    assert grant.status == GrantStatus.ACTIVE
    do_revoke_grant(session, world.reviewer, grant, "严重违约")
    with pytest.raises(Conflict):
        do_resume_grant(session, world.staff, grant)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == grant.id)
                              .order_by(AuditEvent.seq)).all()
    assert actions == ["grant.create", "grant.suspend", "grant.resume", "grant.revoke"]


def test_who_may_manage_which_grants(world, session):
    grant = grant_for(session, world, world.entry, world.citizen)
    for manager in (world.staff, world.reviewer):
        assert access_grant_to_manage(session, manager, grant.id) is grant
        assert access_entry_to_manage(session, manager, world.entry.name) is world.entry
        assert access_org_to_manage(session, manager, "market") is world.provider
    for outsider in (world.citizen, world.other):
        with pytest.raises(NotFound):
            access_grant_to_manage(session, outsider, grant.id)
        with pytest.raises(NotFound):
            access_entry_to_manage(session, outsider, world.entry.name)
        with pytest.raises(NotFound):
            access_org_to_manage(session, outsider, "market")
    with pytest.raises(NotFound):
        access_grant_to_manage(session, world.staff, "nope")
    assert [g.id for g in my_grants(session, world.citizen)] == [grant.id]
    assert my_grants(session, world.other) == []
    assert [g.id for g in grants_of_org(session, world.provider)] == [grant.id]


def test_the_use_of_each_grant_comes_from_the_access_log(world, session, settings):
    ann, bob = grantee(session, settings, "ann"), grantee(session, settings, "bob")
    ann_grant, bob_grant = grant_for(session, world, world.entry, ann), grant_for(session, world, world.entry, bob)
    for channel, rows, size in ((Channel.API, 10, 1000), (Channel.PREVIEW, 5, 300), (Channel.DOWNLOAD, 12, 4000)):
        access_log.write_now(session, Access(Who(ann.id, "ann"), world.entry.id, "v1", channel.value, "rows",
                                             ann_grant.id, "json", {}, rows=rows, bytes=size))
    session.commit()
    usage = usage_of(session, [ann_grant.id, bob_grant.id])
    assert set(usage) == {ann_grant.id}
    used = usage[ann_grant.id]
    assert (used.calls, used.downloads, used.rows, used.bytes) == (2, 1, 27, 5300)
    assert used.last_at is not None
    assert usage_of(session, []) == {}


def test_grants_in_force_count_the_period_and_the_status(world, session, settings):
    today = china_today()
    people = [grantee(session, settings, f"p{i}") for i in range(4)]
    grant_for(session, world, world.entry, people[0])
    grant_for(session, world, world.entry, people[1], valid_from=today + dt.timedelta(days=1))
    grant_for(session, world, world.entry, people[2], valid_from=today - dt.timedelta(days=9),
              valid_until=today - dt.timedelta(days=1))
    do_suspend_grant(session, world.staff, grant_for(session, world, world.entry, people[3]), "暂停")
    assert count_in_force(session, world.entry, today) == 1


def test_the_row_filter_in_words(world, session):
    grant = grant_for(session, world, world.entry, world.citizen, row_filter=[
        {"column": "所在区", "op": "in", "value": ["海州区", "连云区"]}, {"column": "年龄", "op": "lt", "value": 60},
        {"column": "姓名", "op": "isnull", "value": False}])
    assert filter_words(grant, titles_of(world.entry)) == [
        "所在区 one of 海州区、连云区", "年龄 less than 60", "姓名 is not empty"]
