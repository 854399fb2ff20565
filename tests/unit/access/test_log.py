"""The background writer of open-data API calls: batches, use counts, and nothing lost at close."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from kaifang.access.log import Access, AccessLogWriter, Who
from kaifang.access.models import AccessLog
from kaifang.auth.models import MembershipRole
from kaifang.auth.queries import principal_for
from kaifang.catalog.models import CatalogEntry
from kaifang.context import client_ip_var
from kaifang.db import make_session_factory
from tests.factories import make_org, make_user
from tests.unit.catalog.search.helpers import make_entry


def _entry(session, settings) -> CatalogEntry:
    org = make_org(session, "market")
    staff = principal_for(session, make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF))
    entry = make_entry(session, staff, org, "firms")
    session.commit()
    return entry


def _call(entry_id: str, n: int) -> Access:
    return Access(Who("u1", "amy", "t1"), entry_id, "v1", "api", "rows", format="json", params={"n": n}, rows=n)


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(AccessLog)) or 0


def test_calls_are_written_in_batches_and_counted_as_uses(engine, session, settings):
    entry = _entry(session, settings)
    writer = AccessLogWriter(make_session_factory(engine), flush_seconds=1.0)
    token = client_ip_var.set("203.0.113.9")
    try:
        for n in range(5):
            writer.later(_call(entry.id, n))
    finally:
        client_ip_var.reset(token)
    assert _count(session) == 0  # queued, not yet written
    deadline = time.monotonic() + 10
    while _count(session) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.close()
    logged = session.scalars(select(AccessLog).order_by(AccessLog.id)).all()
    assert [r.params["n"] for r in logged] == [0, 1, 2, 3, 4]
    assert {(r.user_id, r.token_id, r.client_ip, r.channel, r.complete) for r in logged} == {
        ("u1", "t1", "203.0.113.9", "api", True)}
    session.expire_all()
    assert session.get(CatalogEntry, entry.id).use_count == 5


def test_what_is_queued_is_written_at_close(engine, session, settings):
    entry = _entry(session, settings)
    writer = AccessLogWriter(make_session_factory(engine), flush_seconds=3600)
    writer.later(_call(entry.id, 1))
    writer.later(_call(entry.id, 2))
    writer.close()
    assert _count(session) == 2


def test_without_a_delay_each_call_is_written_at_once(engine, session, settings):
    entry = _entry(session, settings)
    writer = AccessLogWriter(make_session_factory(engine), flush_seconds=0)
    writer.later(_call(entry.id, 1))
    assert _count(session) == 1
    writer.close()
