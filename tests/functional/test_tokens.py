"""API tokens: created once, listed by prefix, stored hashed, expire and revoke."""

from __future__ import annotations

import datetime as dt

import time_machine
from sqlalchemy import select

from kaifang.auth.models import ApiToken
from tests.factories import make_user
from tests.functional.conftest import login


def _token(client, name="harvester", days=None):
    body = {"name": name} | ({"expires_in_days": days} if days else {})
    response = client.post("/api/v1/tokens", json=body, headers={"x-csrf-token": _csrf(client)})
    assert response.status_code == 201, response.text
    return response.json()


def _csrf(client):
    from tests.functional.conftest import csrf
    return csrf(client, "/register")


def test_token_lifecycle(client, new_client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    created = _token(client, days=30)
    token = created["token"]
    assert token.startswith(f"kf_{created['prefix']}_")
    row = session.scalars(select(ApiToken)).one()
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64

    api = new_client()
    me = api.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "amy"
    ckan_style = api.get("/api/v1/me", headers={"x-ckan-api-key": token})
    assert ckan_style.status_code == 200
    listed = client.get("/api/v1/tokens").json()
    assert listed[0]["prefix"] == created["prefix"] and "token" not in listed[0]
    session.expire_all()
    assert session.scalars(select(ApiToken)).one().last_used_at is not None

    revoked = client.delete(f"/api/v1/tokens/{created['id']}", headers={"x-csrf-token": _csrf(client)})
    assert revoked.status_code == 200
    refused = api.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "NotAuthenticated"


def test_expired_token_is_refused(client, new_client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    token = _token(client, days=1)["token"]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2), tick=False):
        response = new_client().get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_malformed_and_unknown_tokens(new_client):
    api = new_client()
    for value in ("Bearer nonsense", "Bearer kf_deadbeef_xxx", "Bearer kf_"):
        response = api.get("/api/v1/me", headers={"authorization": value})
        assert response.status_code == 401, value


def test_token_validation_errors(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    response = client.post("/api/v1/tokens", json={"name": "x", "expires_in_days": 1000},
                           headers={"x-csrf-token": _csrf(client)})
    assert response.status_code == 400
    assert "expires_in_days" in response.json()["error"]["fields"]


def test_cannot_revoke_someone_elses_token(client, new_client, session, settings):
    make_user(session, settings, "amy")
    make_user(session, settings, "bob")
    session.commit()
    login(client, "amy")
    created = _token(client)
    bob = new_client()
    login(bob, "bob")
    response = bob.delete(f"/api/v1/tokens/{created['id']}", headers={"x-csrf-token": _csrf(bob)})
    assert response.status_code == 404


def test_web_token_form_shows_token_once(client, session, settings):
    from tests.functional.conftest import post_form
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    response = post_form(client, "/account/tokens", {"name": "script", "expires_in_days": "30"}, page="/account")
    assert response.status_code == 303
    first = client.get("/account").text
    assert 'data-testid="new-token"' in first
    assert 'data-testid="new-token"' not in client.get("/account").text


def test_cookie_session_api_write_needs_csrf_header(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    login(client, "amy")
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "x"}, headers={"x-csrf-token": _csrf(client)}).status_code == 201
