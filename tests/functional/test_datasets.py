"""Dataset pages: the entry form with data item rows, its field errors, the detail page, and who
may see, edit, submit and review an entry."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kaifang.auth.models import MembershipRole, Role
from kaifang.catalog.models import CatalogEntry
from tests.factories import make_org, make_user
from tests.functional.conftest import login, post_form

NEW = "/organisations/transport/datasets/new"


def make_people(session, settings) -> None:
    transport = make_org(session, "transport", name="交通运输局")
    health = make_org(session, "health", name="卫生健康委员会")
    make_user(session, settings, "staff", org=transport, membership=MembershipRole.STAFF)
    make_user(session, settings, "health_staff", org=health)
    make_user(session, settings, "reviewer", roles=(Role.AUTHORITY_REVIEWER,))
    make_user(session, settings, "expert", roles=(Role.EXPERT,))
    make_user(session, settings, "citizen", verified=True)
    session.commit()


def logged_in_clients(new_client) -> dict:
    """One signed-in client per person, and an anonymous one."""
    made = {}
    for name in ("staff", "health_staff", "reviewer", "expert", "citizen"):
        made[name] = new_client()
        login(made[name], name)
    made["anonymous"] = new_client()
    return made


@pytest.fixture
def clients(session, settings, new_client):
    make_people(session, settings)
    return logged_in_clients(new_client)


def entry_form(name="bus-stops", **over) -> dict[str, str]:
    values = {
        "name": name, "title": "公交站点位置信息", "summary": "全市公交站点的名称和位置。", "domain_code": "transport",
        "open_type": "unconditional", "update_frequency": "monthly", "security_grade": "public",
        "share_type": "unconditional", "access_modes": "download", "formats": "CSV", "keywords": "公交，站点",
        "items-0-name": "stop_name", "items-0-title": "站点名称", "items-0-type": "string", "items-0-sensitivity": "none",
        "items-1-name": "lng", "items-1-title": "经度", "items-1-type": "decimal", "items-1-sensitivity": "none",
        "items-2-name": "", "items-2-title": "", "items-2-type": "string", "items-2-sensitivity": "none",
    }
    values.update(over)
    return values


def create(client, name="bus-stops", **over):
    return post_form(client, NEW, entry_form(name, **over), NEW)


def _entry_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CatalogEntry)) or 0


def test_create_an_entry_with_data_items(session, clients):
    form = clients["staff"].get(NEW)
    assert form.status_code == 200 and len(re.findall(r'data-testid="item-row"', form.text)) == 3
    response = create(clients["staff"])
    assert response.status_code == 303 and response.headers["location"] == "/datasets/bus-stops"
    page = clients["staff"].get("/datasets/bus-stops").text
    assert "stop_name" in page and "经度" in page and 'data-testid="entry-status">草稿' in page
    entry = session.scalars(select(CatalogEntry)).one()
    assert [i.name for i in entry.items] == ["stop_name", "lng"] and entry.keywords == ["公交", "站点"]
    provider_page = clients["staff"].get("/organisations/transport").text
    assert 'href="/datasets/bus-stops"' in provider_page and 'data-testid="new-dataset"' in provider_page
    assert 'href="/datasets/bus-stops"' not in clients["anonymous"].get("/organisations/transport").text


@pytest.mark.parametrize("open_type", ["conditional", "non_open"])
def test_legal_basis_is_required_and_the_field_says_so(session, clients, open_type):
    response = create(clients["staff"], open_type=open_type, open_conditions="实名认证后申请", legal_basis="  ")
    assert response.status_code == 422
    html = response.text
    assert re.search(r'<textarea id="legal_basis" name="legal_basis" rows="3" aria-invalid="true"', html)
    error = re.search(r'<small class="field-error" id="legal_basis-error">([^<]+)</small>', html)
    assert error and error.group(1) == "有条件开放和不予开放的目录必须注明法律依据。"
    assert 'data-testid="error-summary"' in html and 'href="#legal_basis"' in html
    assert 'value="公交站点位置信息"' in html and 'value="stop_name"' in html  # nothing typed is lost
    assert _entry_count(session) == 0
    assert create(clients["staff"], open_type=open_type, open_conditions="实名认证后申请",
                  legal_basis="《个人信息保护法》第十三条").status_code == 303


def test_item_rows_are_added_and_removed_without_javascript(session, clients):
    added = create(clients["staff"], action="add_item")
    assert added.status_code == 200 and len(re.findall(r'data-testid="item-row"', added.text)) == 4
    removed = create(clients["staff"], remove_item="0")
    assert removed.status_code == 200
    assert 'value="stop_name"' not in removed.text and 'value="lng"' in removed.text
    assert _entry_count(session) == 0
    bad_item = create(clients["staff"], **{"items-1-name": "stop_name"})
    assert bad_item.status_code == 422 and 'id="items.2-error"' in bad_item.text


def test_edit_keeps_items_and_records_the_change(session, clients):
    create(clients["staff"])
    page = clients["staff"].get("/datasets/bus-stops/edit")
    assert page.status_code == 200 and 'value="lng"' in page.text and "disabled" in page.text
    saved = post_form(clients["staff"], "/datasets/bus-stops/edit",
                      entry_form(**{"items-1-title": "经度（GCJ-02）"}), "/datasets/bus-stops/edit")
    assert saved.status_code == 303
    session.expire_all()
    assert session.scalars(select(CatalogEntry)).one().items[1].title == "经度（GCJ-02）"


def _publish(clients, name):
    assert post_form(clients["staff"], f"/datasets/{name}/submit", {}, f"/datasets/{name}").status_code == 303
    for step in ("approve", "publish"):
        assert post_form(clients["reviewer"], f"/datasets/{name}/review/{step}", {}, f"/datasets/{name}").status_code == 303


def test_the_public_sees_only_published_open_entries(session, clients):
    create(clients["staff"], "draft-one")
    create(clients["staff"], "submitted-one")
    post_form(clients["staff"], "/datasets/submitted-one/submit", {}, "/datasets/submitted-one")
    create(clients["staff"], "closed-one", open_type="non_open", legal_basis="《个人信息保护法》", share_type="not_shared",
           access_modes="")
    _publish(clients, "closed-one")
    create(clients["staff"], "open-one")
    _publish(clients, "open-one")
    for who in ("anonymous", "citizen", "expert", "health_staff"):
        for name in ("draft-one", "submitted-one", "closed-one"):
            assert clients[who].get(f"/datasets/{name}").status_code == 404, (who, name)
        page = clients[who].get("/datasets/open-one")
        assert page.status_code == 200 and 'data-testid="entry-status"' not in page.text
        provider_page = clients[who].get("/organisations/transport").text
        assert "open-one" in provider_page and "closed-one" not in provider_page
        assert "draft-one" not in clients[who].get("/open-list/focus").text
    for name in ("draft-one", "submitted-one", "closed-one"):
        assert clients["staff"].get(f"/datasets/{name}").status_code == 200
        assert clients["reviewer"].get(f"/datasets/{name}").status_code == 200


def test_staff_of_another_provider_cannot_edit_or_submit(session, clients):
    create(clients["staff"])
    other = clients["health_staff"]
    assert other.get(NEW).status_code == 403
    assert create(other, "sneaky").status_code == 403
    assert other.get("/datasets/bus-stops/edit").status_code == 404
    assert post_form(other, "/datasets/bus-stops/edit", entry_form(title="改"), "/register").status_code == 404
    assert post_form(other, "/datasets/bus-stops/submit", {}).status_code == 404
    assert clients["anonymous"].get(NEW).status_code == 303


def test_only_the_authority_approves_or_returns(session, clients):
    create(clients["staff"])
    post_form(clients["staff"], "/datasets/bus-stops/submit", {"note": "请审核"}, "/datasets/bus-stops")
    for who in ("staff", "health_staff", "expert", "citizen"):
        for step in ("approve", "return"):
            response = post_form(clients[who], f"/datasets/bus-stops/review/{step}", {"reason": "x"})
            assert response.status_code == 403, (who, step)
    no_reason = post_form(clients["reviewer"], "/datasets/bus-stops/review/return", {"reason": ""}, "/datasets/bus-stops")
    assert no_reason.status_code == 422 and 'id="reason-error"' in no_reason.text
    assert post_form(clients["reviewer"], "/datasets/bus-stops/review/publish", {}).status_code == 409
    session.expire_all()
    assert session.scalars(select(CatalogEntry)).one().status == "submitted"


def test_provider_sees_a_link_to_the_versions_page(client, session, settings):
    """The dataset page leads the provider (and only the provider) to the data versions."""
    from kaifang.auth.models import MembershipRole
    from kaifang.auth.queries import principal_for
    from kaifang.catalog.actions import do_create_entry
    from tests.factories import make_org, make_user
    from tests.functional.conftest import login
    from tests.unit.catalog.test_entries import entry_input

    org = make_org(session, "transport")
    staff = make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF)
    make_user(session, settings, "other")
    do_create_entry(session, principal_for(session, staff), org, entry_input("bus-stops"))
    session.commit()
    login(client, "staff")
    assert 'data-testid="versions-link"' in client.get("/datasets/bus-stops").text
