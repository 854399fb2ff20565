"""For every role, the pages and endpoints of the foundation it may and may not use."""

from __future__ import annotations

import pytest

from kaifang.auth.models import MembershipRole, Role
from tests.factories import make_org, make_user
from tests.functional.conftest import login

ROLES = ["anonymous", "user", "staff", "head", "reviewer", "auditor", "expert", "admin"]
EVERYONE = set(ROLES)
LOGGED_IN = EVERYONE - {"anonymous"}

# (method, path, roles that may use it). "{org}" is the provider the staff and head belong to.
MATRIX: list[tuple[str, str, set[str]]] = [
    ("GET", "/", EVERYONE),
    ("GET", "/catalog", EVERYONE),
    ("GET", "/organisations", EVERYONE),
    ("GET", "/organisations/{org}", EVERYONE),
    ("GET", "/healthz", EVERYONE),
    ("GET", "/api/v1/organisations", EVERYONE),
    ("GET", "/login", EVERYONE),
    ("GET", "/register", EVERYONE),
    ("GET", "/account", LOGGED_IN),
    ("GET", "/api/v1/me", LOGGED_IN),
    ("GET", "/api/v1/tokens", LOGGED_IN),
    ("GET", "/organisations/{org}/members", {"staff", "head", "admin"}),
    ("GET", "/admin", {"reviewer", "admin"}),
    ("GET", "/admin/verifications", {"reviewer", "admin"}),
    ("GET", "/admin/users", {"admin"}),
    ("GET", "/admin/organisations/new", {"admin"}),
    ("GET", "/admin/organisations/{org}/edit", {"admin"}),
    ("GET", "/admin/outbox", {"admin"}),
    ("GET", "/audit", {"auditor", "admin"}),
    ("GET", "/tasks", LOGGED_IN),
    ("GET", "/cases/new", LOGGED_IN),
    ("GET", "/admin/calendar", {"admin"}),
    ("GET", "/organisations/{org}/datasets/new", {"staff", "head"}),
    ("GET", "/open-list/focus", EVERYONE),
    ("GET", "/open-list/review", {"reviewer"}),
    ("GET", "/open-list/opinions", {"expert"}),
    ("GET", "/open-list/changes", {"staff", "head", "reviewer", "auditor", "admin"}),
    ("GET", "/open-list/disputes", {"staff", "head", "reviewer", "auditor", "admin"}),
    ("GET", "/open-list/disputes/new", {"staff", "head"}),
    ("GET", "/open-list/responsibilities", {"staff", "head", "reviewer", "auditor", "admin"}),
    ("GET", "/open-list/responsibilities/{org}", {"staff", "head", "reviewer", "auditor", "admin"}),
    ("GET", "/open-list/not-open", {"staff", "head", "reviewer", "auditor", "admin"}),
]


@pytest.fixture
def people(session, settings):
    org = make_org(session, "transport")
    accounts = {
        "user": make_user(session, settings, "user", verified=True),
        "staff": make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF),
        "head": make_user(session, settings, "head", org=org, membership=MembershipRole.HEAD),
        "reviewer": make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,)),
        "auditor": make_user(session, settings, "auditor", roles=(Role.AUDITOR,)),
        "expert": make_user(session, settings, "expert", roles=(Role.EXPERT,)),
        "admin": make_user(session, settings, "admin", roles=(Role.PLATFORM_ADMIN,)),
    }
    session.commit()
    return org, accounts


def _denied(response) -> bool:
    to_login = response.status_code == 303 and response.headers["location"].startswith("/login")
    return to_login or response.status_code in (401, 403, 404)


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(role, people, new_client):
    org, _accounts = people
    client = new_client()
    if role != "anonymous":
        login(client, role)
    for method, path, allowed_roles in MATRIX:
        response = client.request(method, path.format(org=org.slug))
        if role in allowed_roles:
            assert not _denied(response) and response.status_code < 400, (role, path, response.status_code)
        elif role == "anonymous":
            # Pages send anonymous visitors to the login page; the API answers 401.
            assert response.status_code in (303, 401), (role, path, response.status_code)
        else:
            assert response.status_code in (403, 404), (role, path, response.status_code)


def test_members_of_other_org_are_hidden_from_staff(people, new_client, session):
    _org, _accounts = people
    other = make_org(session, "health")
    session.commit()
    client = new_client()
    login(client, "staff")
    assert client.get(f"/organisations/{other.slug}/members").status_code == 404


def test_department_head_manages_sub_unit_members(people, new_client, session, settings):
    org, _accounts = people
    sub = make_org(session, "transit", parent=org)
    make_user(session, settings, "newcomer")
    session.commit()
    client = new_client()
    login(client, "head")
    from tests.functional.conftest import post_form
    response = post_form(client, f"/organisations/{sub.slug}/members", {"login": "newcomer", "role": "staff"})
    assert response.status_code == 303
    staff = new_client()
    login(staff, "staff")
    refused = post_form(staff, f"/organisations/{sub.slug}/members", {"login": "newcomer", "role": "staff"})
    assert refused.status_code == 403


def test_unsafe_admin_actions_are_refused_to_non_admins(people, new_client):
    _org, accounts = people
    from tests.functional.conftest import post_form
    for role in ("user", "staff", "head", "reviewer", "auditor", "expert"):
        client = new_client()
        login(client, role)
        assert post_form(client, f"/admin/users/{accounts['user'].id}/roles", {"role": "platform_admin"}).status_code == 403
        assert post_form(client, "/admin/organisations/new", {"slug": "x1", "name": "X", "kind": "enterprise"}).status_code == 403
    reviewer_only = new_client()
    login(reviewer_only, "auditor")
    assert post_form(reviewer_only, "/admin/verifications/whatever", {"decision": "approve"}).status_code == 403
