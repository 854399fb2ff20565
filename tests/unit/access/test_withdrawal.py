"""Withdrawing a dataset (LYG 26): every grant in force is suspended in the same transaction, no
data path serves it any more, a download already streaming breaks off, and every recipient is
listed from the access log."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from kaifang.access import log as access_log
from kaifang.access.downloads import logged_stream, open_download, parse_download
from kaifang.access.engine import QueryEngine
from kaifang.access.grants import do_revoke_grant, do_suspend_grant
from kaifang.access.log import Access, Who
from kaifang.access.models import AccessLog, Channel, Grant, GrantStatus
from kaifang.access.queries import recipients_of
from kaifang.access.scope import access_data, still_serving
from kaifang.access.withdrawal import do_withdraw_dataset
from kaifang.audit.models import AuditEvent
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import EntryStatus
from kaifang.context import client_ip_var
from kaifang.datasets.storage import storage_for
from kaifang.db import make_session_factory
from kaifang.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kaifang.i18n import _
from tests.unit.access.grant_helpers import download, grant_for, grantee, publish_residents
from tests.unit.access.helpers import make_data_world, publish_entry


@pytest.fixture
def query_engine(settings) -> Iterator[QueryEngine]:
    engine = QueryEngine(settings, storage_for(settings))
    yield engine
    engine.close()


def _entry(session, name: str) -> CatalogEntry:
    session.expire_all()
    entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == name)).one()
    return entry


def _statuses(session, grants: list[Grant]) -> list[str]:
    session.expire_all()
    return [session.get(Grant, g.id).status for g in grants]  # type: ignore[union-attr]


def test_withdrawal_suspends_every_grant_in_force_and_closes_every_path(session, settings, query_engine):
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world, n=40)
    people = [grantee(session, settings, name) for name in ("ann", "bob", "cat", "dan")]
    grants = [grant_for(session, world, entry, who) for who in people]
    do_suspend_grant(session, world.staff, grants[2], "逾期未反馈")
    do_revoke_grant(session, world.staff, grants[3], "违约")
    session.commit()
    download(session, settings, query_engine, people[0], entry.name)

    outcome = do_withdraw_dataset(session, world.staff, _entry(session, entry.name), "发现个人信息泄露风险")
    session.commit()
    assert [g.id for g in outcome.suspended] == [grants[0].id, grants[1].id]
    assert outcome.recipients == 1
    assert _statuses(session, grants) == ["suspended", "suspended", "suspended", "revoked"]
    reasons = [session.get(Grant, g.id).status_reason for g in grants[:2]]  # type: ignore[union-attr]
    assert reasons == [_("The dataset was withdrawn from the open list (LYG 26).")] * 2
    assert "泄露" not in reasons[0]  # the provider's reason stays in the audit trail
    assert _entry(session, entry.name).status == EntryStatus.WITHDRAWN
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "dataset.withdraw")).one()
    assert event.data["grants_suspended"] == [grants[0].id, grants[1].id]
    assert event.data["reason"] == "发现个人信息泄露风险"
    for who in people:
        for channel in Channel:
            with pytest.raises(NotFound):
                access_data(session, settings, who, entry.name, channel, today=china_today())


@pytest.mark.parametrize(("who", "reason", "error"), [
    ("other", "风险", Forbidden), ("staff", "  ", ValidationFailed), ("citizen", "风险", Forbidden),
])
def test_a_refused_withdrawal_changes_nothing(session, settings, who, reason, error):
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world, n=10)
    holder = grantee(session, settings, "holder")
    grant = grant_for(session, world, entry, holder)
    actor: Principal = getattr(world, who)
    with pytest.raises(error):
        do_withdraw_dataset(session, actor, _entry(session, entry.name), reason)
    session.rollback()
    assert _statuses(session, [grant]) == [GrantStatus.ACTIVE]
    assert _entry(session, entry.name).status == EntryStatus.PUBLISHED
    with pytest.raises(Conflict):  # withdrawn already
        do_withdraw_dataset(session, world.staff, _entry(session, entry.name), "风险")
        do_withdraw_dataset(session, world.staff, _entry(session, entry.name), "风险")


def test_the_authority_may_withdraw(session, settings):
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world, n=10)
    grant = grant_for(session, world, entry, grantee(session, settings, "holder"))
    do_withdraw_dataset(session, world.reviewer, _entry(session, entry.name), "主管部门要求撤回")
    session.commit()
    assert _statuses(session, [grant]) == [GrantStatus.SUSPENDED]


def test_recipients_list_every_user_grant_and_download(session, settings, query_engine):
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world, n=30)
    ann, bob = grantee(session, settings, "ann"), grantee(session, settings, "bob")
    ann_grant, bob_grant = grant_for(session, world, entry, ann), grant_for(session, world, entry, bob)
    csv_body, csv_log = download(session, settings, query_engine, ann, entry.name)
    json_body, json_log = download(session, settings, query_engine, ann, entry.name, "json")
    access_log.write_now(session, Access(Who(bob.id, "bob"), entry.id, "v", Channel.API.value, "rows",
                                         bob_grant.id, "json", {}, rows=7, bytes=700))
    session.commit()

    found = recipients_of(session, _entry(session, entry.name))
    assert [(r.user.username if r.user else None, r.grant.id if r.grant else None) for r in found] == [
        ("ann", ann_grant.id), ("bob", bob_grant.id)]
    first, second = found
    assert first.channels == {"download"} and first.downloads == 2 and first.calls == 0
    assert [(d.log_id, d.format, d.sha256) for d in first.deliveries] == [
        (csv_log, "csv", hashlib.sha256(csv_body).hexdigest()), (json_log, "json", hashlib.sha256(json_body).hexdigest())]
    assert first.bytes == len(csv_body) + len(json_body) and first.rows == 60
    assert first.first_at is not None and first.last_at is not None and first.first_at <= first.last_at
    assert second.channels == {"api"} and second.calls == 1 and second.rows == 7 and second.deliveries == []


def test_anonymous_downloads_of_open_data_are_listed_by_address(session, settings, query_engine):
    world = make_data_world(session, settings)
    entry = publish_entry(session, settings, world, "parks", ["公园", "区"], [["苍梧绿园", "海州区"]])
    token = client_ip_var.set("203.0.113.9")
    try:
        anonymous = Principal.anonymous()
        scope = access_data(session, settings, anonymous, "parks", Channel.DOWNLOAD, today=china_today())
        wanted = parse_download("csv", [], scope)
        stream = open_download(query_engine, scope, wanted, query_engine.folder / "exports")
        access = Access(access_log.ANONYMOUS, scope.entry_id, scope.version.id, Channel.DOWNLOAD, "download",
                        None, "csv", wanted.summary(), complete=False)
        log_id = access_log.write_now(session, access)
        session.commit()
        body = b"".join(logged_stream(stream, make_session_factory(session.get_bind()), log_id, access,
                                      lambda s: True))
    finally:
        client_ip_var.reset(token)
    (found,) = recipients_of(session, _entry(session, "parks"))
    assert found.user is None and found.grant is None and found.address == "203.0.113.9"
    assert [(d.address, d.sha256) for d in found.deliveries] == [("203.0.113.9", hashlib.sha256(body).hexdigest())]
    assert found.downloads == 1 and found.rows == 1 and entry.id


def test_a_download_already_streaming_breaks_off_when_the_dataset_is_withdrawn(session, settings, query_engine):
    world = make_data_world(session, settings)
    rows = [[i, i * 7 % 1000, f"第{i}条记录"] for i in range(200_000)]
    entry = publish_entry(session, settings, world, "big", ["编号", "数值", "说明"], rows, open_type="conditional",
                          types={"编号": "integer", "数值": "integer"})
    holder = grantee(session, settings, "holder")
    grant = grant_for(session, world, entry, holder, columns=["编号", "数值", "说明"])
    scope = access_data(session, settings, holder, "big", Channel.DOWNLOAD, today=china_today())
    wanted = parse_download("csv", [], scope)
    stream = open_download(query_engine, scope, wanted, query_engine.folder / "exports")
    access = Access(Who(holder.id, "holder"), scope.entry_id, scope.version.id, Channel.DOWNLOAD, "download",
                    grant.id, "csv", wanted.summary(), complete=False)
    log_id = access_log.write_now(session, access)
    session.commit()
    chunks = logged_stream(stream, make_session_factory(session.get_bind()), log_id, access,
                           lambda s: still_serving(s, entry.id, grant.id, china_today()))
    received = [next(chunks)]
    do_withdraw_dataset(session, world.staff, _entry(session, "big"), "风险")
    session.commit()
    time.sleep(2.2)  # the stream checks again every two seconds
    received += list(chunks)
    size = sum(map(len, received))
    full = sum(map(len, open_download(query_engine, scope, wanted, query_engine.folder / "exports").chunks))
    assert size < full / 2
    session.expire_all()
    row = session.get(AccessLog, log_id)
    assert row is not None and row.complete is False and row.bytes == size
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "data.download")) == 1

