"""Answers about open data kept in memory: sent again byte for byte, logged every time, never past
the gate (a withdrawn dataset is refused at once), never for conditional data."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaifang.access.grants import do_create_grant
from kaifang.access.models import AccessLog
from kaifang.access.withdrawal import do_withdraw_dataset
from kaifang.api.data import answers_on_the_loop
from kaifang.app import create_app
from kaifang.auth.models import User
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from tests.functional.conftest import login
from tests.unit.access.helpers import make_data_world, publish_entry

HEADER = ["企业名称", "所在区", "员工数"]
ROWS = [[f"企业{i:02d}", ["渝中区", "江北区"][i % 2], i] for i in range(30)]
ROWS_URL = "/api/v1/datasets/firms/rows?所在区=渝中区&limit=5&total=true"
AGGREGATE_URL = "/api/v1/datasets/firms/aggregate?group_by=所在区&measures=count,sum:员工数"


@pytest.fixture
def settings(settings):
    # A short batching delay: the answers are sent from the event loop, as in production.
    return settings.with_overrides(access_log_flush_seconds=0.05)


def _logs(session, entry_id: str) -> list[AccessLog]:
    session.expire_all()
    return list(session.scalars(select(AccessLog).where(AccessLog.entry_id == entry_id).order_by(AccessLog.id)))


def _flushed(session, entry_id: str, count: int) -> list[AccessLog]:
    deadline = time.monotonic() + 5
    while len(logs := _logs(session, entry_id)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return logs


def test_a_repeated_query_gets_the_same_bytes_each_time_logged(session, settings):
    assert answers_on_the_loop(settings) == settings.is_sqlite  # on PostgreSQL through the pool
    world = make_data_world(session, settings)
    entry = publish_entry(session, settings, world, "firms", HEADER, ROWS, types={"员工数": "integer"})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        first, again = client.get(ROWS_URL), client.get(ROWS_URL)
        sums, sums_again = client.get(AGGREGATE_URL), client.get(AGGREGATE_URL)
        assert first.status_code == again.status_code == 200 and first.content == again.content
        assert first.json()["total"] == 15 and len(first.json()["rows"]) == 5
        assert sums.content == sums_again.content
        assert {r["所在区"]: r["sum:员工数"] for r in sums.json()["rows"]} == {"渝中区": 210, "江北区": 225}
        # Another query is another answer.
        assert client.get(ROWS_URL.replace("limit=5", "limit=6")).json()["rows"][5]["企业名称"] == "企业10"
        logs = _flushed(session, entry.id, 5)
    assert [log.action for log in logs] == ["rows", "rows", "aggregate", "aggregate", "rows"]
    assert logs[0].sha256 == logs[1].sha256 == hashlib.sha256(first.content).hexdigest()
    assert logs[1].rows == 5 and logs[3].rows == 2


def test_the_gate_comes_before_the_cache(session, settings):
    world = make_data_world(session, settings)
    entry = publish_entry(session, settings, world, "firms", HEADER, ROWS, types={"员工数": "integer"})
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get(ROWS_URL).status_code == 200
        do_withdraw_dataset(session, world.staff, session.get(CatalogEntry, entry.id), "发现个人信息泄露风险")
        session.commit()
        assert client.get(ROWS_URL).status_code == 404
        assert client.get(AGGREGATE_URL).status_code == 404


def test_a_cached_answer_still_needs_the_identity_the_jurisdiction_asks_for(session, settings):
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "firms", HEADER, ROWS, types={"员工数": "integer"})
    app = create_app(settings.with_overrides(jurisdiction="chongqing"))
    with TestClient(app, follow_redirects=False) as verified, TestClient(app) as anonymous:
        login(verified, "citizen")
        assert verified.get(ROWS_URL).status_code == 200
        assert anonymous.get(ROWS_URL).status_code == 401


def test_conditional_answers_are_computed_and_audited_each_time(session, settings):
    world = make_data_world(session, settings)
    entry = publish_entry(session, settings, world, "roster", HEADER, ROWS, open_type="conditional",
                          types={"员工数": "integer"})
    do_create_grant(session, world.staff, entry=entry, user=session.get(User, world.citizen.id),
                    columns=["企业名称", "员工数"], row_filter=[], modes=["api"],
                    valid_from=china_today() - dt.timedelta(days=1), valid_until=china_today() + dt.timedelta(days=9))
    session.commit()
    with TestClient(create_app(settings), follow_redirects=False) as client:
        login(client, "citizen")
        url = "/api/v1/datasets/roster/rows?limit=3"
        assert client.get(url).content == client.get(url).content
        logs = _logs(session, entry.id)  # written in the request, not by the batching writer
    assert len(logs) == 2 and all(log.grant_id for log in logs)


def test_the_cache_can_be_switched_off(session, settings):
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "firms", HEADER, ROWS, types={"员工数": "integer"})
    app = create_app(settings.with_overrides(api_cache_mb=0))
    with TestClient(app) as client:
        assert client.get(ROWS_URL).content == client.get(ROWS_URL).content
        assert getattr(app.state, "answer_cache", None) is None
