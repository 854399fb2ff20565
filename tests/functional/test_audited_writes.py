"""Every write of the foundation records an audit event in the same transaction."""

from __future__ import annotations

import re

from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.audit.queries import verify_chain
from kaifang.auth.models import IdentityVerification, Role
from kaifang.notify.models import OutboundMail
from tests.factories import make_org, make_user
from tests.functional.conftest import csrf, login, post_form


def _actions(session) -> list[str]:
    session.expire_all()
    return [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_each_write_leaves_its_event(client, new_client, session, settings):
    org = make_org(session, "transport")
    make_user(session, settings, "admin", roles=(Role.PLATFORM_ADMIN,))
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    session.commit()
    before = len(_actions(session))

    user_client = new_client()
    register = {"account_type": "natural_person", "username": "newbie", "email": "newbie@example.test",
                "display_name": "新人", "password": "a-long-pass-1", "password_confirm": "a-long-pass-1",
                "real_name": "新人", "id_number": "11010519491231002X", "csrf_token": csrf(user_client)}
    assert user_client.post("/register", data=register).status_code == 303
    assert post_form(user_client, "/account/profile", {"display_name": "新人2", "phone": "", "preferred_locale": "en"}).status_code == 303
    assert post_form(user_client, "/account/tokens", {"name": "t", "expires_in_days": ""}).status_code == 303
    token_id = re.search(r"/account/tokens/([0-9a-f]+)/revoke", user_client.get("/account").text).group(1)
    assert post_form(user_client, f"/account/tokens/{token_id}/revoke", {}).status_code == 303
    assert post_form(user_client, "/account/password", {"current_password": "a-long-pass-1",
                     "new_password": "b-long-pass-2", "new_password_confirm": "b-long-pass-2"}).status_code == 303
    assert post_form(user_client, "/logout", {}).status_code == 303
    assert post_form(user_client, "/password/forgot", {"email": "newbie@example.test"}).status_code == 200
    token = re.search(r"token=([\w-]+)", session.scalars(select(OutboundMail)).one().body).group(1)
    assert post_form(user_client, "/password/reset", {"token": token, "new_password": "c-long-pass-3",
                                                      "new_password_confirm": "c-long-pass-3"}).status_code == 303

    reviewer = new_client()
    login(reviewer, "reviewer")
    claim = session.scalars(select(IdentityVerification)).one()
    assert post_form(reviewer, f"/admin/verifications/{claim.id}", {"decision": "approve"}).status_code == 303

    admin = new_client()
    login(admin, "admin")
    newbie_id = claim.user_id
    assert post_form(admin, f"/admin/users/{newbie_id}/roles", {"role": "expert"}).status_code == 303
    assert post_form(admin, f"/admin/users/{newbie_id}/roles/expert/revoke", {}).status_code == 303
    assert post_form(admin, f"/admin/users/{newbie_id}/active", {"active": "0"}).status_code == 303
    assert post_form(admin, f"/admin/users/{newbie_id}/active", {"active": "1"}).status_code == 303
    new_org = {"slug": "water", "name": "自来水公司", "kind": "public_utility", "uscc": "91110000600037341L"}
    assert post_form(admin, "/admin/organisations/new", new_org).status_code == 303
    assert post_form(admin, "/admin/organisations/water/edit", {**new_org, "parent_id": org.id}).status_code == 303
    assert post_form(admin, "/organisations/transport/members", {"login": "newbie", "role": "head"}).status_code == 303
    member_id = re.search(r"/members/([0-9a-f]+)/remove", admin.get("/organisations/transport/members").text).group(1)
    assert post_form(admin, f"/organisations/transport/members/{member_id}/remove", {}).status_code == 303

    actions = _actions(session)[before:]
    for expected in ["account.register", "identity.submit", "account.update_profile", "token.create",
                     "token.revoke", "account.change_password", "account.logout", "account.reset_requested",
                     "account.reset_password", "account.login", "identity.verify", "role.grant", "role.revoke",
                     "account.deactivate", "account.activate", "organisation.create", "organisation.update",
                     "membership.add", "membership.remove"]:
        assert expected in actions, expected
    assert verify_chain(session).ok


def test_failed_write_leaves_no_event(client, session, settings):
    make_user(session, settings, "amy")
    session.commit()
    before = len(_actions(session))
    register = {"account_type": "natural_person", "username": "amy", "email": "x@example.test",
                "display_name": "x", "password": "a-long-pass-1", "password_confirm": "a-long-pass-1",
                "real_name": "x", "id_number": "11010519491231002X", "csrf_token": csrf(client)}
    assert client.post("/register", data=register).status_code == 422
    assert len(_actions(session)) == before
