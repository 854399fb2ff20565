from __future__ import annotations

from sqlalchemy import select

from kaifang.auth.models import Organisation, Role
from tests.factories import make_org, make_user
from tests.functional.conftest import login, post_form


def _admin(new_client, session, settings):
    make_user(session, settings, "admin", roles=(Role.PLATFORM_ADMIN,))
    session.commit()
    client = new_client()
    login(client, "admin")
    return client


def test_create_with_bad_credit_code_names_the_field(new_client, session, settings):
    client = _admin(new_client, session, settings)
    response = post_form(client, "/admin/organisations/new",
                         {"slug": "water", "name": "自来水公司", "kind": "public_utility", "uscc": "91110000600037341M"})
    assert response.status_code == 422
    assert 'id="uscc-error"' in response.text and "校验码错误" in response.text
    assert session.scalar(select(Organisation).where(Organisation.slug == "water")) is None


def test_hierarchy_shows_on_pages(new_client, session, settings):
    district = make_org(session, "donghu", name="东湖区人民政府")
    make_org(session, "donghu-civil", parent=district, name="东湖区民政局")
    session.commit()
    client = new_client()
    tree = client.get("/organisations").text
    assert tree.index("东湖区人民政府") < tree.index("东湖区民政局")
    detail = client.get("/organisations/donghu").text
    assert "东湖区民政局" in detail
    api = client.get("/api/v1/organisations").json()
    assert {o["slug"]: o["parent_slug"] for o in api}["donghu-civil"] == "donghu"


def test_cycle_is_refused(new_client, session, settings):
    client = _admin(new_client, session, settings)
    top = make_org(session, "top")
    child = make_org(session, "child", parent=top)
    session.commit()
    response = post_form(client, "/admin/organisations/top/edit",
                         {"name": top.name, "kind": top.kind, "parent_id": child.id})
    assert response.status_code == 422 and "不能隶属于自身" in response.text


def test_only_one_head(new_client, session, settings):
    client = _admin(new_client, session, settings)
    make_org(session, "transport")
    make_user(session, settings, "a")
    make_user(session, settings, "b")
    session.commit()
    assert post_form(client, "/organisations/transport/members", {"login": "a", "role": "head"}).status_code == 303
    second = post_form(client, "/organisations/transport/members", {"login": "b", "role": "head"})
    assert second.status_code == 422 and "已有主要负责人" in second.text


def test_unknown_organisation_is_404(client):
    assert client.get("/organisations/nope").status_code == 404
    assert client.get("/api/v1/organisations/nope").json()["error"]["code"] == "NotFound"
