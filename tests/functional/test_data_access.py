"""Who may read which rows through the data API, and which version a page token reads: the
jurisdiction's identity rule, conditional data through grants, tokens pinned to their version."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from kaifang.access.grants import do_create_grant, do_suspend_grant
from kaifang.access.models import AccessLog
from kaifang.access.scope import grant_secret
from kaifang.app import create_app
from kaifang.audit.models import AuditEvent
from kaifang.auth.models import User
from kaifang.cases.clocks import china_today
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.forms import DataItemInput
from kaifang.catalog.models import CatalogEntry
from kaifang.datasets.actions import do_withdraw_version
from kaifang.datasets.models import DatasetVersion
from kaifang.ingest.desensitise import pseudonym_value
from tests.functional.conftest import login
from tests.unit.access.helpers import add_version, entry_fields, make_data_world, publish_entry

HEADER = ["企业名称", "所在区", "员工数"]
ROWS = [[f"企业{i:02d}", ["渝中区", "江北区"][i % 2], i] for i in range(12)]


@pytest.fixture
def settings(settings):
    return settings.with_overrides(access_log_flush_seconds=0)


@pytest.fixture
def world(session, settings):
    return make_data_world(session, settings)


def _firms(session, settings, world, **extra):
    return publish_entry(session, settings, world, "firms", HEADER, ROWS, types={"员工数": "integer"}, **extra)


def rows_of(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["企业名称"] for r in response.json()["rows"]]


@pytest.mark.parametrize("channel", ["/api/v1/datasets/firms/rows", "/api/v1/datasets/firms/download.csv",
                                     "/api/v1/datasets/firms/aggregate"])
def test_where_open_data_needs_a_verified_identity(session, settings, world, channel):
    _firms(session, settings, world)
    with TestClient(create_app(settings.with_overrides(jurisdiction="chongqing")), follow_redirects=False) as client:
        anonymous = client.get(channel)
        assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
        assert anonymous.json()["error"]["code"] == "NotAuthenticated"
        login(client, "staff")  # an account without identity verification
        assert client.get(channel).status_code == 403
    with TestClient(create_app(settings.with_overrides(jurisdiction="chongqing")), follow_redirects=False) as client:
        login(client, "citizen")
        assert client.get(channel).status_code == 200
    with TestClient(create_app(settings.with_overrides(jurisdiction="national")), follow_redirects=False) as client:
        assert client.get(channel).status_code == 200  # open to everyone


def test_a_page_token_keeps_reading_its_version(session, settings, world, client):
    _firms(session, settings, world)
    first = client.get("/api/v1/datasets/firms/rows", params={"limit": 5, "sort": "-员工数"})
    token = first.json()["next"]
    assert rows_of(first) == ["企业11", "企业10", "企业09", "企业08", "企业07"]

    add_version(settings, "firms", HEADER, [[f"新企业{i}", "南岸区", 100 + i] for i in range(3)])

    second = client.get("/api/v1/datasets/firms/rows", params={"limit": 5, "sort": "-员工数", "next": token})
    assert rows_of(second) == ["企业06", "企业05", "企业04", "企业03", "企业02"]
    assert second.headers["X-Kaifang-Version"] == "1" and second.json()["version"] == 1
    fresh = client.get("/api/v1/datasets/firms/rows", params={"limit": 5, "sort": "-员工数"})
    assert rows_of(fresh) == ["新企业2", "新企业1", "新企业0"] and fresh.headers["X-Kaifang-Version"] == "2"

    entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == "firms")).one()
    old = session.scalars(select(DatasetVersion).where(DatasetVersion.entry_id == entry.id,
                                                       DatasetVersion.number == 1)).one()
    do_withdraw_version(session, world.staff, old, "登记数据有误")
    session.commit()
    gone = client.get("/api/v1/datasets/firms/rows", params={"limit": 5, "sort": "-员工数", "next": token})
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "Gone"


def test_a_token_of_another_dataset_is_refused(session, settings, world, client):
    _firms(session, settings, world)
    publish_entry(session, settings, world, "other", HEADER, ROWS, types={"员工数": "integer"})
    token = client.get("/api/v1/datasets/other/rows", params={"limit": 2}).json()["next"]
    response = client.get("/api/v1/datasets/firms/rows", params={"limit": 2, "next": token})
    assert response.status_code == 400 and list(response.json()["error"]["fields"]) == ["next"]


def test_entries_that_are_not_public_have_no_data(session, settings, world, client):
    _firms(session, settings, world)
    do_create_entry(session, world.staff, world.provider,
                    entry_fields("draft", "unconditional", [DataItemInput("企业名称", "string", "企业名称")]))
    session.commit()
    assert client.get("/api/v1/datasets/draft/rows").status_code == 404
    assert client.get("/api/v1/datasets/draft/download.csv").status_code == 404


def test_an_entry_offers_only_its_access_modes(session, settings, world, client):
    publish_entry(session, settings, world, "files-only", HEADER, ROWS, access_modes=["download"])
    assert client.get("/api/v1/datasets/files-only/download.csv").status_code == 200
    refused = client.get("/api/v1/datasets/files-only/rows")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Forbidden"


def _grant(session, world, entry, **changes):
    values = {"columns": ["企业名称", "员工数"], "row_filter": [{"column": "所在区", "op": "eq", "value": "渝中区"}],
              "modes": ["api", "download"], "valid_from": china_today() - dt.timedelta(days=1),
              "valid_until": china_today() + dt.timedelta(days=30)}
    values.update(changes)
    user = session.get(User, world.citizen.id)
    grant = do_create_grant(session, world.staff, entry=entry, user=user, **values)
    session.commit()
    return grant


def test_conditional_data_needs_a_grant_and_serves_only_its_scope(session, settings, world, client):
    entry = publish_entry(session, settings, world, "roster", HEADER, ROWS, open_type="conditional",
                          types={"员工数": "integer"}, sensitivity={"员工数": "personal"})
    assert client.get("/api/v1/datasets/roster/rows").status_code == 403  # anonymous: apply first
    login(client, "citizen")
    refused = client.get("/api/v1/datasets/roster/rows")
    assert refused.status_code == 403 and "apply" in client.get(
        "/api/v1/datasets/roster/rows", headers={"Accept-Language": "en"}).json()["error"]["message"]

    grant = _grant(session, world, entry)
    response = client.get("/api/v1/datasets/roster/rows", params={"total": "true"})
    body = response.json()
    assert [f["name"] for f in body["fields"]] == ["企业名称", "员工数"] and body["total"] == 6
    key = grant_secret(settings, grant.id)
    assert body["rows"] == [{"企业名称": f"企业{i:02d}", "员工数": pseudonym_value(key, str(i))}
                            for i in range(0, 12, 2)]
    assert [f["type"] for f in body["fields"]] == ["text", "text"]  # a pseudonym is text
    log = session.scalars(select(AccessLog).order_by(AccessLog.id.desc())).first()
    assert (log.grant_id, log.user_id, log.rows) == (grant.id, world.citizen.id, 6)
    assert log.sha256 == hashlib.sha256(response.content).hexdigest()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "data.rows")).one()
    assert event.data["access_log"] == log.id and event.data["sha256"] == log.sha256
    # Columns outside the grant do not exist for the grantee.
    hidden = client.get("/api/v1/datasets/roster/rows", params={"所在区": "江北区"})
    assert hidden.status_code == 400 and list(hidden.json()["error"]["fields"]) == ["所在区"]

    do_suspend_grant(session, world.staff, grant, "未按期反馈利用情况")
    session.commit()
    suspended = client.get("/api/v1/datasets/roster/rows", headers={"Accept-Language": "en"})
    assert suspended.status_code == 403 and "未按期反馈利用情况" in suspended.json()["error"]["message"]


def test_a_grant_opens_only_its_modes(session, settings, world, client):
    entry = publish_entry(session, settings, world, "roster", HEADER, ROWS, open_type="conditional")
    _grant(session, world, entry, modes=["download"], row_filter=[])
    login(client, "citizen")
    assert client.get("/api/v1/datasets/roster/download.csv").status_code == 200
    assert client.get("/api/v1/datasets/roster/rows").status_code == 403
    login(client, "other")  # the grant is the citizen's alone
    assert client.get("/api/v1/datasets/roster/download.csv").status_code == 403
