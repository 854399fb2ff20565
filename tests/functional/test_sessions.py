"""Login, logout, password change and the reset-token flow; CSRF on every form."""

from __future__ import annotations

import re

from sqlalchemy import select

from kaifang.notify.models import OutboundMail
from tests.factories import PASSWORD, make_user
from tests.functional.conftest import csrf, login, post_form


def test_login_logout(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    assert "Amy" in client.get("/account").text
    response = post_form(client, "/logout", {})
    assert response.status_code == 303
    assert client.get("/account").status_code == 303  # back to the login page


def test_wrong_password(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    response = client.post("/login", data={"login": "amy", "password": "wrong-one-1",
                                           "csrf_token": csrf(client)})
    assert response.status_code == 400
    assert "用户名或密码错误" in response.text


def test_login_by_email_and_next_stays_on_site(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    response = client.post("/login", data={"login": "AMY@example.test", "password": PASSWORD,
                                           "csrf_token": csrf(client), "next": "//evil.example/x"})
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_form_without_csrf_token_is_refused(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    response = client.post("/login", data={"login": "amy", "password": PASSWORD})
    assert response.status_code == 403
    response = client.post("/login", data={"login": "amy", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403


def test_password_change_ends_other_sessions(client, new_client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    other = new_client()
    login(client, "amy")
    login(other, "amy")
    response = post_form(client, "/account/password", {
        "current_password": PASSWORD, "new_password": "new-secret-77", "new_password_confirm": "new-secret-77",
    }, page="/account")
    assert response.status_code == 303
    assert client.get("/account").status_code == 200       # this session stays
    assert other.get("/account").status_code == 303        # the other one is logged out
    login(new_client(), "amy", "new-secret-77")


def test_password_change_errors_name_fields(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    response = post_form(client, "/account/password", {
        "current_password": "nope", "new_password": "abc", "new_password_confirm": "abd"}, page="/account")
    assert response.status_code == 422
    assert "当前密码不正确" in response.text and "密码至少需要 10 个字符" in response.text


def test_reset_flow(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    response = post_form(client, "/password/forgot", {"email": "amy@example.test"})
    assert response.status_code == 200
    unknown = post_form(client, "/password/forgot", {"email": "nobody@example.test"})
    assert unknown.text.count("链接一小时内有效") == response.text.count("链接一小时内有效")  # no account probing
    mail = session.scalars(select(OutboundMail)).one()
    token = re.search(r"token=([A-Za-z0-9_-]+)", mail.body).group(1)
    page = client.get(f"/password/reset?token={token}")
    assert page.status_code == 200
    done = post_form(client, "/password/reset", {"token": token, "new_password": "fresh-pass-9",
                                                 "new_password_confirm": "fresh-pass-9"})
    assert done.status_code == 303
    login(client, "amy", "fresh-pass-9")
    again = post_form(client, "/password/reset", {"token": token, "new_password": "other-pass-9",
                                                  "new_password_confirm": "other-pass-9"})
    assert again.status_code == 422 and "重置链接无效或已过期" in again.text


def test_reset_with_forged_token(client):
    response = post_form(client, "/password/reset", {"token": "forged", "new_password": "fresh-pass-9",
                                                     "new_password_confirm": "fresh-pass-9"})
    assert response.status_code == 422


def test_deactivated_account_cannot_log_in(client, session, settings):
    user = make_user(session, settings, "amy")
    user.is_active = False
    session.commit()
    response = client.post("/login", data={"login": "amy", "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 400


def test_language_switch_and_default(client):
    assert "首页" in client.get("/", headers={"accept-language": "en-US"}).text
    response = client.get("/lang/en?next=/organisations")
    assert response.status_code == 303 and response.headers["location"] == "/organisations"
    assert ">Home<" in client.get("/").text
    assert client.get("/lang/zh_CN?next=https://evil.example").headers["location"] == "/"
