"""Grant pages and API: my grants, a provider's grants with their use, suspending, resuming and
revoking with a reason, the dataset page's panel, usage reports, and withdrawal with its list of
recipients."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

import pytest
from sqlalchemy import select

from kaifang.access.feedback import open_due_reports
from kaifang.access.models import FeedbackReport, Grant
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from tests.functional.conftest import csrf, login, post_form
from tests.unit.access.grant_helpers import grant_for, publish_residents
from tests.unit.access.helpers import make_data_world

DATASET = "residents"


@pytest.fixture
def world(session, settings):
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world, n=40)
    today = china_today()
    world.grant = grant_for(session, world, entry, world.citizen, columns=["姓名", "手机号", "所在区"],
                            row_filter=[{"column": "所在区", "op": "in", "value": ["海州区", "连云区"]},
                                        {"column": "年龄", "op": "gte", "value": 30}],
                            modes=["download", "api"], valid_from=today - dt.timedelta(days=10),
                            valid_until=today + dt.timedelta(days=200), feedback_every_months=3)
    return world


def _as(new_client, username: str):
    client = new_client()
    login(client, username)
    return client


def _grant(session, world) -> Grant:
    session.expire_all()
    grant = session.get(Grant, world.grant.id)
    assert grant is not None
    return grant


def test_my_grants_shows_the_scope_in_words_and_the_links(world, new_client, session):
    citizen = _as(new_client, "citizen")
    page = citizen.get("/account/grants?lang=en")
    assert page.status_code == 200
    text = page.text
    assert "企业登记信息 residents" in text and 'data-testid="my-grant"' in text
    assert "姓名、手机号、所在区" in text and "身份证号" not in text.split('data-testid="grant-columns"')[1][:80]
    assert "所在区 one of 海州区、连云区" in text and "年龄 at least 30" in text
    assert "API、Download" in text and "Active" in text
    assert "Every 3 months" in text and "Next report after" in text
    assert f"/api/v1/datasets/{DATASET}/download.csv" in text and f"/api/v1/datasets/{DATASET}/rows" in text
    zh = citizen.get("/account/grants?lang=zh_CN").text
    assert "我的授权" in zh and "所在区 " in zh and " 海州区、连云区" in zh and "年龄 不小于 30" in zh

    other = _as(new_client, "other")
    assert 'data-testid="no-grants"' in other.get("/account/grants").text
    assert new_client().get("/account/grants").status_code == 303  # to the login page

    mine = citizen.get("/api/v1/grants/mine").json()
    assert [g["id"] for g in mine] == [world.grant.id]
    assert mine[0]["row_filter"][1] == {"column": "年龄", "op": "gte", "value": 30}
    assert mine[0]["in_force"] is True and mine[0]["feedback"]["every_months"] == 3
    assert set(mine[0]["links"]) >= {"rows", "download_csv"}


def test_the_provider_sees_each_grants_use_and_the_others_see_nothing(world, new_client):
    citizen = _as(new_client, "citizen")
    body = citizen.get(f"/api/v1/datasets/{DATASET}/download.csv").content
    rows = len(body.decode("utf-8").splitlines()) - 1
    assert citizen.get(f"/api/v1/datasets/{DATASET}/rows?limit=5").status_code == 200

    staff = _as(new_client, "staff")
    for path in (f"/datasets/{DATASET}/grants?lang=en", "/organisations/market/grants?lang=en"):
        page = staff.get(path)
        assert page.status_code == 200, path
        assert "Citizen" in page.text and "1 call · 1 download" in page.text and "Last access" in page.text
        assert f"{rows + 5} rows" in page.text
    [managed] = staff.get(f"/api/v1/datasets/{DATASET}/grants").json()
    assert managed["user"] == "citizen" and managed["usage"]["downloads"] == 1
    assert managed["usage"]["calls"] == 1 and managed["usage"]["bytes"] >= len(body)

    reviewer = _as(new_client, "reviewer")
    assert reviewer.get(f"/datasets/{DATASET}/grants").status_code == 200
    other = _as(new_client, "other")
    for path in (f"/datasets/{DATASET}/grants", "/organisations/market/grants", f"/datasets/{DATASET}/recipients",
                 f"/api/v1/datasets/{DATASET}/grants"):
        assert other.get(path).status_code == 404, path
        assert citizen.get(path).status_code == 404, path


def test_the_dataset_page_panel_is_for_the_provider_and_the_authority(world, new_client):
    staff = _as(new_client, "staff")
    page = staff.get(f"/datasets/{DATASET}?lang=en").text
    assert 'data-testid="grants-panel"' in page and "1 grant in force" in page
    assert 'data-testid="grants-panel"' in _as(new_client, "reviewer").get(f"/datasets/{DATASET}").text
    for client in (_as(new_client, "citizen"), _as(new_client, "other"), new_client()):
        assert 'data-testid="grants-panel"' not in client.get(f"/datasets/{DATASET}").text


def test_suspend_resume_and_revoke_with_a_reason(world, new_client, session):
    citizen, staff = _as(new_client, "citizen"), _as(new_client, "staff")
    page = f"/datasets/{DATASET}/grants"
    missing = post_form(staff, f"/grants/{world.grant.id}/suspend", {"reason": "", "next": page}, page)
    assert missing.status_code == 422 and 'aria-invalid="true"' in missing.text
    assert _grant(session, world).status == "active"

    done = post_form(staff, f"/grants/{world.grant.id}/suspend", {"reason": "违反协议第五条", "next": page}, page)
    assert done.status_code == 303 and done.headers["location"] == page
    assert _grant(session, world).status == "suspended"
    refused = citizen.get(f"/api/v1/datasets/{DATASET}/rows")
    assert refused.status_code == 403 and "违反协议第五条" in refused.json()["error"]["message"]
    assert "违反协议第五条" in citizen.get("/account/grants").text

    assert post_form(staff, f"/grants/{world.grant.id}/resume", {"reason": "", "next": page}, page).status_code == 303
    assert citizen.get(f"/api/v1/datasets/{DATASET}/rows").status_code == 200

    reviewer = _as(new_client, "reviewer")
    revoked = reviewer.post(f"/api/v1/grants/{world.grant.id}/revoke", json={"reason": "严重违约"},
                            headers={"x-csrf-token": csrf(reviewer)})
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = post_form(staff, f"/grants/{world.grant.id}/resume", {"reason": "", "next": page}, page)
    assert again.status_code == 303 and _grant(session, world).status == "revoked"
    assert "revoked" in staff.get(page).text
    other = _as(new_client, "other")
    assert post_form(other, f"/grants/{world.grant.id}/suspend", {"reason": "x"}).status_code == 404


def test_withdrawal_suspends_the_grants_and_lists_every_recipient(world, new_client, session):
    citizen = _as(new_client, "citizen")
    body = citizen.get(f"/api/v1/datasets/{DATASET}/download.csv").content
    anonymous_open = new_client()
    staff = _as(new_client, "staff")
    withdrawn = post_form(staff, f"/datasets/{DATASET}/withdraw", {"reason": "发现身份证号可被还原"},
                          f"/datasets/{DATASET}")
    assert withdrawn.status_code == 303
    landing = staff.get(withdrawn.headers["location"] + "?lang=en").text
    assert f'href="/datasets/{DATASET}/recipients" data-testid="flash-link"' in landing
    assert _grant(session, world).status == "suspended"
    session.expire_all()
    entry = session.scalars(select(CatalogEntry).where(CatalogEntry.name == DATASET)).one()
    assert entry.status == "withdrawn"
    for path in (f"/api/v1/datasets/{DATASET}/rows", f"/api/v1/datasets/{DATASET}/download.csv",
                 f"/api/v1/datasets/{DATASET}/aggregate", f"/api/v1/datasets/{DATASET}/fields",
                 f"/api/3/action/datastore_search?resource_id={DATASET}", f"/datasets/{DATASET}/preview",
                 f"/datasets/{DATASET}/chart-data?group_by=所在区"):
        assert citizen.get(path).status_code == 404, path
        assert anonymous_open.get(path).status_code == 404, path
    ckan = citizen.get(f"/api/3/action/datastore_search?resource_id={DATASET}").json()
    assert ckan["error"]["__type"] == "Not Found Error"

    page = staff.get(f"/datasets/{DATASET}/recipients?lang=en")
    assert page.status_code == 200
    assert "Citizen" in page.text and hashlib.sha256(body).hexdigest() in page.text
    assert 'data-testid="recipient-row"' in page.text
    export = staff.get(f"/datasets/{DATASET}/recipients.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [(r["user"], r["grant"], r["sha256"]) for r in rows] == [
        ("citizen", world.grant.id, hashlib.sha256(body).hexdigest())]
    assert 'data-testid="recipients-link"' in staff.get(f"/datasets/{DATASET}").text


def test_a_usage_report_is_submitted_with_a_file_and_reviewed(world, new_client, session, settings):
    day = _grant(session, world).valid_from + dt.timedelta(days=100)
    assert open_due_reports(session, settings, day) == 1
    session.commit()
    report = session.scalars(select(FeedbackReport)).one()
    citizen = _as(new_client, "citizen")
    mine = citizen.get("/account/grants?lang=en").text
    path = f"/usage-reports/{report.case_id}"
    assert f'href="{path}"' in mine and "Submit the usage report" in mine
    # The case engine's page of the report leads to the report's own page.
    assert citizen.get(f"/cases/{report.case_id}").headers["location"] == path
    token = csrf(citizen, path)
    empty = citizen.post(f"{path}/submit", data={"report": " ", "csrf_token": token})
    assert empty.status_code == 422 and 'id="report-error"' in empty.text
    sent = citizen.post(f"{path}/submit", data={"report": "用于选址分析，三名分析员使用。", "csrf_token": token},
                        files=[("files", ("成果摘要.txt", "分析成果".encode(), "text/plain"))])
    assert sent.status_code == 303
    staff = _as(new_client, "staff")
    page = staff.get(f"{path}?lang=en").text
    assert "用于选址分析" in page and "成果摘要.txt" in page and 'data-testid="review-form"' in page
    assert 'data-testid="report-form"' not in page
    asked = post_form(staff, f"{path}/ask-more", {"reason": "请补充成果用途。"}, path)
    assert asked.status_code == 303
    assert 'data-testid="report-form"' in citizen.get(path).text
    post_form(citizen, f"{path}/submit", {"report": "成果用于规划参考。"}, path)
    assert post_form(staff, f"{path}/accept", {"reason": ""}, path).status_code == 303
    assert "Accepted" in staff.get(f"{path}?lang=en").text
    assert _as(new_client, "other").get(path).status_code == 404

