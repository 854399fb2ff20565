"""The contact workflow through the pages: open, ask for information (clock stopped), supplement,
answer; the thread, attachments, notifications and who may see a case."""

from __future__ import annotations

import re

from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import Role
from kaifang.cases.models import Case
from tests.factories import make_user
from tests.functional.conftest import login, post_form


def _people(session, settings):
    make_user(session, settings, "citizen")
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    make_user(session, settings, "nosy")
    session.commit()


def _case(session) -> Case:
    session.expire_all()
    return session.scalars(select(Case)).one()


def _open(client) -> str:
    response = post_form(client, "/cases/new", {"title": "公交数据何时更新", "body": "上月数据缺失。"}, "/cases/new")
    assert response.status_code == 303, response.text[:500]
    return response.headers["location"]


def test_contact_case_from_question_to_answer(session, settings, new_client):
    _people(session, settings)
    citizen, reviewer = new_client(), new_client()
    login(citizen, "citizen")
    login(reviewer, "reviewer")
    assert citizen.get("/cases/new").status_code == 200
    path = _open(citizen)
    page = citizen.get(path)
    assert "公交数据何时更新" in page.text and 'data-testid="due-date"' in page.text
    assert 'data-testid="step-withdraw"' in page.text and 'data-testid="step-answer"' not in page.text

    tasks = reviewer.get("/tasks")
    assert tasks.status_code == 200 and path in tasks.text
    assert 'data-testid="unread"' in tasks.text
    assert 'data-testid="step-request_info"' in reviewer.get(path).text
    assert post_form(reviewer, f"{path}/transitions/request_info", {"reason": "请说明线路编号"}, path).status_code == 303
    case = _case(session)
    assert case.state == "awaiting_info" and case.clock_paused
    assert "计时暂停" in citizen.get(path).text
    assert path in citizen.get("/tasks").text

    assert post_form(citizen, f"{path}/transitions/supplement", {"reason": "1路、2路"}, path).status_code == 303
    assert not _case(session).clock_paused
    assert post_form(reviewer, f"{path}/transitions/answer", {"reason": "本周五更新"}, path).status_code == 303
    assert post_form(citizen, f"{path}/transitions/close", {}, path).status_code == 303
    case = _case(session)
    assert case.state == "closed" and case.closed_at is not None
    timeline = citizen.get(path).text
    for text in ("上月数据缺失。", "请说明线路编号", "1路、2路", "本周五更新"):
        assert text in timeline
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == case.id)))
    assert actions == {"case.open", "case.request_info", "case.supplement", "case.answer", "case.close"}


def test_refused_steps_and_bad_input(session, settings, new_client):
    _people(session, settings)
    citizen, reviewer = new_client(), new_client()
    login(citizen, "citizen")
    login(reviewer, "reviewer")
    empty = post_form(citizen, "/cases/new", {"title": "", "body": ""}, "/cases/new")
    assert empty.status_code == 422 and 'aria-invalid="true"' in empty.text
    path = _open(citizen)
    assert post_form(citizen, f"{path}/transitions/answer", {"reason": "x"}, path).status_code == 409
    assert post_form(reviewer, f"{path}/transitions/answer", {"reason": ""}, path).status_code == 422
    assert post_form(reviewer, f"{path}/transitions/nonsense", {}, path).status_code == 409
    assert _case(session).state == "submitted"


def test_other_users_cannot_see_or_touch_a_case(session, settings, new_client):
    _people(session, settings)
    citizen, nosy = new_client(), new_client()
    login(citizen, "citizen")
    login(nosy, "nosy")
    path = _open(citizen)
    assert nosy.get(path).status_code == 404
    assert post_form(nosy, f"{path}/messages", {"body": "hi"}).status_code == 404
    assert post_form(nosy, f"{path}/transitions/withdraw", {}).status_code == 404
    assert path not in nosy.get("/tasks").text
    assert new_client().get(path).status_code == 303  # anonymous: to the login page


def test_messages_attachments_and_notifications(session, settings, new_client):
    _people(session, settings)
    citizen, reviewer, nosy = new_client(), new_client(), new_client()
    for client, name in ((citizen, "citizen"), (reviewer, "reviewer"), (nosy, "nosy")):
        login(client, name)
    path = _open(citizen)
    assert post_form(reviewer, f"{path}/messages", {"body": "已收到，正在核实"}, path).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', citizen.get(path).text).group(1)
    upload = citizen.post(f"{path}/attachments", data={"csrf_token": token, "note": "截图"},
                          files={"file": ("截图.txt", b"line 1\nline 2\n", "text/plain")})
    assert upload.status_code == 303, upload.text[:300]
    page = citizen.get(path).text
    link = re.search(rf'href="({path}/attachments/[0-9a-f]+)"', page).group(1)
    download = reviewer.get(link)
    assert download.status_code == 200 and download.content == b"line 1\nline 2\n"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert nosy.get(link).status_code == 404
    no_file = citizen.post(f"{path}/attachments", data={"csrf_token": token})
    assert no_file.status_code == 422

    tasks = citizen.get("/tasks").text
    assert 'data-testid="unread"' in tasks and "公交数据何时更新" in tasks
    assert post_form(citizen, "/notifications/read", {}, "/tasks").status_code == 303
    assert 'data-testid="unread"' not in citizen.get("/tasks").text


def test_pages_speak_english_too(session, settings, new_client):
    _people(session, settings)
    citizen = new_client()
    login(citizen, "citizen")
    citizen.get("/lang/en")
    path = _open(citizen)
    assert "Waiting for the answer" in citizen.get(path).text
    assert "My tasks" in citizen.get("/tasks").text
