"""The cases JSON API: my tasks with due dates and the calendar flag, one case, taking a step."""

from __future__ import annotations

from kaifang.auth.models import Role
from tests.factories import make_user
from tests.functional.conftest import csrf, login, post_form


def test_cases_api_lists_shows_and_steps(session, settings, new_client):
    make_user(session, settings, "citizen")
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    make_user(session, settings, "nosy")
    session.commit()
    citizen, reviewer, nosy = new_client(), new_client(), new_client()
    for client, name in ((citizen, "citizen"), (reviewer, "reviewer"), (nosy, "nosy")):
        login(client, name)
    opened = post_form(citizen, "/cases/new", {"title": "接口咨询", "body": "如何申请？"}, "/cases/new")
    case_id = opened.headers["location"].rsplit("/", 1)[1]

    [task] = reviewer.get("/api/v1/cases/tasks").json()
    assert task["id"] == case_id and task["due_date"] and task["calendar_missing"] is False
    assert [c["id"] for c in citizen.get("/api/v1/cases/mine").json()] == [case_id]
    detail = reviewer.get(f"/api/v1/cases/{case_id}").json()
    assert detail["transitions"] == ["request_info", "answer"] and "authority" in detail["roles"]
    assert nosy.get(f"/api/v1/cases/{case_id}").status_code == 404

    refused = citizen.post(f"/api/v1/cases/{case_id}/transitions/answer", json={"reason": "x"},
                           headers={"x-csrf-token": csrf(citizen)})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "InvalidTransition"
    answered = reviewer.post(f"/api/v1/cases/{case_id}/transitions/answer", json={"reason": "见指南"},
                             headers={"x-csrf-token": csrf(reviewer)})
    assert answered.status_code == 200 and answered.json()["state"] == "answered"
    assert answered.json()["entries"][-1]["body"] == "见指南"
    assert new_client().get("/api/v1/cases/tasks").status_code == 401


def test_a_cross_site_form_cannot_take_a_step(session, settings, new_client):
    make_user(session, settings, "citizen")
    session.commit()
    citizen = new_client()
    login(citizen, "citizen")
    opened = post_form(citizen, "/cases/new", {"title": "t", "body": "b"}, "/cases/new")
    case_id = opened.headers["location"].rsplit("/", 1)[1]
    forged = citizen.post(f"/api/v1/cases/{case_id}/transitions/withdraw", content='{"reason": ""}',
                          headers={"content-type": "text/plain"})
    assert forged.status_code == 403  # no X-CSRF-Token: a page of another site cannot send one
