"""The open list through the pages: the authority's queue, return with reasons and resubmission,
expert opinions, change requests, ownership disputes and the lists derived from the catalog."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.cases.models import Case
from kaifang.catalog.models import CatalogEntry, ChangeRequest, Dispute
from tests.functional.conftest import post_form
from tests.functional.test_datasets import create, entry_form, logged_in_clients, make_people

PAGE = "/datasets/bus-stops"


@pytest.fixture
def clients(session, settings, new_client):
    make_people(session, settings)
    return logged_in_clients(new_client)


def _entry(session) -> CatalogEntry:
    session.expire_all()
    return session.scalars(select(CatalogEntry).where(CatalogEntry.name == "bus-stops")).one()


def _submit(clients, note=""):
    assert post_form(clients["staff"], f"{PAGE}/submit", {"note": note}, PAGE).status_code == 303


def _queue_form(client, step):
    return post_form(client, f"{PAGE}/review/{step}", {"reason": "", "next": "/open-list/review"}, "/open-list/review")


def test_return_resubmit_approve_publish_through_the_queue(session, clients):
    create(clients["staff"])
    _submit(clients, "首次提交")
    queue = clients["reviewer"].get("/open-list/review")
    assert queue.status_code == 200 and 'data-name="bus-stops"' in queue.text
    returned = post_form(clients["reviewer"], f"{PAGE}/review/return",
                         {"reason": "请补充坐标系说明", "next": "/open-list/review"}, "/open-list/review")
    assert returned.status_code == 303 and returned.headers["location"] == "/open-list/review"
    page = clients["staff"].get(PAGE).text
    assert "请补充坐标系说明" in page and 'data-testid="edit-entry"' in page
    assert post_form(clients["staff"], f"{PAGE}/edit", entry_form(summary="坐标系为 GCJ-02。"), f"{PAGE}/edit").status_code == 303
    _submit(clients)
    assert _queue_form(clients["reviewer"], "approve").headers["location"] == "/open-list/review"
    assert 'data-testid="queue-publish"' in clients["reviewer"].get("/open-list/review").text
    _queue_form(clients["reviewer"], "publish")
    entry = _entry(session)
    assert entry.status == "published" and entry.published_at is not None
    public = clients["anonymous"].get(PAGE)
    assert public.status_code == 200 and "坐标系为 GCJ-02。" in public.text
    assert "bus-stops" in clients["anonymous"].get("/catalog?q=公交").text
    history = clients["staff"].get(PAGE).text
    assert history.count('data-testid="history-case"') == 2 and "修订版 2" in history
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"catalog.create", "catalog.update", "catalog.submit", "case.return", "case.approve", "case.publish"} <= actions


def test_the_generic_case_page_approves_too(session, clients):
    create(clients["staff"])
    _submit(clients)
    case_id = _entry(session).review_case_id
    assert post_form(clients["reviewer"], f"/cases/{case_id}/transitions/approve", {}, f"/cases/{case_id}").status_code == 303
    assert _entry(session).status == "approved"


def test_expert_opinion_through_the_pages(session, clients):
    create(clients["staff"], open_type="conditional", open_conditions="实名申请", legal_basis="《数据安全法》第二十一条")
    _submit(clients)
    assert post_form(clients["reviewer"], f"{PAGE}/review/request_opinion", {"reason": "能否无条件开放？"}, PAGE).status_code == 303
    assert 'href="/open-list/opinions/bus-stops"' in clients["expert"].get("/open-list/opinions").text
    assert clients["staff"].get("/open-list/opinions/bus-stops").status_code == 403
    page = clients["expert"].get("/open-list/opinions/bus-stops")
    assert page.status_code == 200 and "能否无条件开放？" in page.text
    assert post_form(clients["expert"], "/open-list/opinions/bus-stops", {"opinion": ""}, "/open-list/opinions").status_code == 422
    given = post_form(clients["expert"], "/open-list/opinions/bus-stops", {"opinion": "建议有条件开放"}, "/open-list/opinions")
    assert given.status_code == 303
    for who in ("staff", "reviewer"):
        assert "建议有条件开放" in clients[who].get(PAGE).text


def _published(clients):
    create(clients["staff"])
    _submit(clients)
    for step in ("approve", "publish"):
        post_form(clients["reviewer"], f"{PAGE}/review/{step}", {}, PAGE)


def test_change_request_through_the_pages(session, clients):
    _published(clients)
    form = clients["staff"].get(f"{PAGE}/change")
    assert form.status_code == 200 and 'data-testid="change-form"' in form.text
    assert clients["health_staff"].get(f"{PAGE}/change").status_code == 404
    bad = post_form(clients["staff"], f"{PAGE}/change", entry_form(open_type="non_open", cause="law"), f"{PAGE}/change")
    assert bad.status_code == 422 and 'id="legal_basis-error"' in bad.text and 'id="explanation-error"' in bad.text
    filed = post_form(clients["staff"], f"{PAGE}/change", entry_form(
        title="公交站点位置信息（2025版）", cause="law", changed_on="2025-09-26", explanation="条例修订"), f"{PAGE}/change")
    assert filed.status_code == 303
    change = session.scalars(select(ChangeRequest)).one()
    detail = clients["reviewer"].get(f"/open-list/changes/{change.id}")
    assert detail.status_code == 200 and "公交站点位置信息（2025版）" in detail.text
    assert 'data-testid="change-approve_change"' in detail.text
    assert clients["health_staff"].get(f"/open-list/changes/{change.id}").status_code == 404
    assert f"/open-list/changes/{change.id}" in clients["reviewer"].get("/open-list/changes").text
    approved = post_form(clients["reviewer"], f"/open-list/changes/{change.id}/steps/approve_change", {},
                         f"/open-list/changes/{change.id}")
    assert approved.status_code == 303
    assert _entry(session).title == "公交站点位置信息（2025版）"


def test_the_authority_records_a_change_for_the_provider_to_file(session, clients):
    _published(clients)
    recorded = post_form(clients["reviewer"], f"{PAGE}/change/record",
                         {"cause": "law", "changed_on": "2025-09-26", "explanation": "上位法修订"}, PAGE)
    assert recorded.status_code == 303
    case = session.scalars(select(Case).where(Case.workflow == "catalog_change")).one()
    assert case.state == "awaiting_filing" and f"/cases/{case.id}" in clients["staff"].get("/tasks").text
    form = clients["staff"].get(f"{PAGE}/change").text
    assert 'data-testid="pending-change"' in form and "上位法修订" in form
    assert post_form(clients["staff"], f"{PAGE}/change", entry_form(summary="新说明"), f"{PAGE}/change").status_code == 303
    session.expire_all()
    assert session.get(Case, case.id).state == "under_review"


def test_dispute_through_the_pages(session, clients):
    orgs = re.findall(r'<option value="([0-9a-f]{32})"[^>]*>([^<]+)</option>', clients["health_staff"].get("/open-list/disputes/new").text)
    ids = {name: org_id for org_id, name in orgs}
    missing = post_form(clients["health_staff"], "/open-list/disputes/new", {"claimant": ids["卫生健康委员会"]},
                        "/open-list/disputes/new")
    assert missing.status_code == 422 and 'id="respondent-error"' in missing.text
    opened = post_form(clients["health_staff"], "/open-list/disputes/new", {
        "claimant": ids["卫生健康委员会"], "respondent": ids["交通运输局"], "resource": "医院周边公交站点",
        "claim": "由我委采集"}, "/open-list/disputes/new")
    assert opened.status_code == 303
    path = opened.headers["location"]
    page = clients["staff"].get(path)
    assert page.status_code == 200 and 'data-testid="dispute-ask_mediation"' in page.text
    assert clients["citizen"].get(path).status_code == 403
    assert post_form(clients["staff"], f"{path}/steps/ask_mediation", {"reason": "协商未果"}, path).status_code == 303
    no_owner = post_form(clients["reviewer"], f"{path}/steps/mediate", {"reason": "调解一致"}, path)
    assert no_owner.status_code == 422 and 'id="owner-error"' in no_owner.text
    done = post_form(clients["reviewer"], f"{path}/steps/mediate", {"reason": "调解一致", "owner": ids["交通运输局"]}, path)
    assert done.status_code == 303
    session.expire_all()
    assert session.scalars(select(Dispute)).one().owner_org_id == ids["交通运输局"]


def test_lists_derived_from_the_catalog(session, clients):
    _published(clients)
    create(clients["staff"], "closed", open_type="non_open", legal_basis="《个人信息保护法》", share_type="not_shared")
    duties = clients["staff"].get("/open-list/responsibilities/transport")
    assert duties.status_code == 200 and duties.text.count('data-testid="duty-row"') == 1
    assert clients["health_staff"].get("/open-list/responsibilities/transport").status_code == 404
    assert "/open-list/responsibilities/transport" in clients["reviewer"].get("/open-list/responsibilities").text
    not_open = clients["reviewer"].get("/open-list/not-open").text
    assert 'data-name="closed"' in not_open and "bus-stops" not in not_open
    assert 'data-name="closed"' not in clients["health_staff"].get("/open-list/not-open").text
    assert post_form(clients["reviewer"], "/open-list/not-open/closed", {"note": "仍需保密"}, "/open-list/not-open").status_code == 303
    assert "仍需保密" in clients["staff"].get("/open-list/not-open").text
