"""A non-open entry (published, with its legal basis) and a draft never reach a public surface;
a conditional entry does, as metadata. One test per surface."""

from __future__ import annotations

import re

import pytest
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from kaifang.auth.actions import do_create_token
from kaifang.auth.models import MembershipRole
from kaifang.auth.queries import principal_for
from kaifang.catalog.vocab import OpenType
from tests.factories import make_org, make_user
from tests.functional.conftest import login
from tests.unit.catalog.search.helpers import make_entry

HIDDEN = ("secret-roster", "draft-stops")
HIDDEN_TITLES = ("公交驾驶员名册", "公交站点草稿")


@pytest.fixture
def world(session, settings):
    org = make_org(session, "transport", name="市交通运输局")
    staff_user = make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF)
    staff = principal_for(session, staff_user)
    make_entry(session, staff, org, "bus-stops", keywords=["公交", "站点"])
    make_entry(session, staff, org, "taxi-trips", title="公交出租车运营数据", open_type=OpenType.CONDITIONAL,
               formats=["JSON"], keywords=["出租车"])
    make_entry(session, staff, org, "secret-roster", title="公交驾驶员名册", open_type=OpenType.NON_OPEN,
               legal_basis="《个人信息保护法》第十三条", share_type="not_shared", formats=["XLS"],
               keywords=["名册机密"], access_modes=[])
    make_entry(session, staff, org, "draft-stops", title="公交站点草稿", published=False, formats=["PDF"],
               keywords=["草稿标签"])
    _row, token = do_create_token(session, staff, "harvester", None)
    session.commit()
    return {"org": org, "token": token}


def assert_hidden(text: str) -> None:
    for secret in (*HIDDEN, *HIDDEN_TITLES, "名册机密", "草稿标签"):
        assert secret not in text, secret


def action(client, name, token=None, **params):
    headers = {"Authorization": token} if token else {}
    return client.get(f"/api/3/action/{name}", params=params, headers=headers)


def test_search_results(client, world):
    page = client.get("/catalog", params={"q": "公交"})
    assert page.status_code == 200
    assert 'data-name="bus-stops"' in page.text and 'data-name="taxi-trips"' in page.text
    assert_hidden(page.text)
    assert re.search(r'data-testid="result-count">\s*0\b', client.get("/catalog", params={"q": "驾驶员名册"}).text)


def test_facet_counts(client, world):
    page = client.get("/catalog").text
    assert re.search(r'data-testid="result-count">\s*2\b', page)
    counts = dict(re.findall(r'<span class="label">([^<]+)</span><span class="count">(\d+)</span>', page))
    assert counts["无条件开放"] == "1" and counts["有条件开放"] == "1"
    assert "不予开放" not in counts and "XLS" not in counts and "PDF" not in counts
    assert counts["市交通运输局"] == "2" and counts["CSV"] == "1" and counts["JSON"] == "1"


def test_staff_see_their_own_but_counts_stay_within_what_they_see(new_client, world):
    client = new_client()
    login(client, "staff")
    page = client.get("/catalog").text
    assert 'data-name="draft-stops"' in page and 'data-name="secret-roster"' in page
    assert re.search(r'data-testid="result-count">\s*4\b', page)


def test_provider_page(client, world):
    page = client.get("/organisations/transport")
    assert page.status_code == 200
    assert 'data-name="bus-stops"' in page.text and 'data-name="taxi-trips"' in page.text
    assert_hidden(page.text)


def test_ckan_package_search(client, world):
    for token in (None, world["token"]):  # a provider's own token changes nothing here
        body = action(client, "package_search", token, q="公交", rows=100,
                      **{"facet.field": '["res_format", "tags", "open_type"]'}).json()
        names = {p["name"] for p in body["result"]["results"]}
        assert names == {"bus-stops", "taxi-trips"} and body["result"]["count"] == 2
        assert_hidden(str(body))
    conditional = next(p for p in body["result"]["results"] if p["name"] == "taxi-trips")
    assert {"key": "open_type", "value": "conditional"} in conditional["extras"]


def test_ckan_package_show(client, world):
    for ref in (*HIDDEN, "no-such-thing"):
        response = action(client, "package_show", world["token"], id=ref)
        assert response.status_code == 404
        assert response.json()["error"]["__type"] == "Not Found Error"
        assert response.json()["success"] is False
    shown = action(client, "package_show", id="taxi-trips").json()["result"]
    assert shown["title"] == "公交出租车运营数据" and shown["isopen"] is False


def test_ckan_package_list(client, world):
    assert action(client, "package_list", world["token"]).json()["result"] == ["bus-stops", "taxi-trips"]


def test_ckan_tag_list(client, world):
    tags = action(client, "tag_list", world["token"]).json()["result"]
    assert set(tags) == {"公交", "站点", "出租车"}


def test_ckan_organization_counts(client, world):
    orgs = action(client, "organization_list", all_fields="true").json()["result"]
    assert [o["package_count"] for o in orgs if o["name"] == "transport"] == [2]


def test_dcat_jsonld(client, world):
    response = client.get("/catalog.jsonld")
    assert_hidden(response.text)
    graph = Graph().parse(data=response.text, format="json-ld")
    datasets = {str(s).rsplit("/", 1)[-1] for s in graph.subjects(predicate=None, object=ns.DCAT.Dataset)}
    assert datasets == {"bus-stops", "taxi-trips"}
    for name in HIDDEN:
        assert client.get(f"/datasets/{name}.jsonld").status_code == 404


def test_dcat_turtle(client, world):
    response = client.get("/catalog.ttl")
    assert_hidden(response.text)
    graph = Graph().parse(data=response.text, format="turtle")
    assert (None, None, ns.DCAT.Dataset) in graph
    assert len(set(graph.subjects(object=ns.DCAT.Dataset))) == 2
    for name in HIDDEN:
        assert client.get(f"/datasets/{name}.ttl").status_code == 404
    assert URIRef("http://publications.europa.eu/resource/authority/access-right/NON_PUBLIC") not in set(graph.objects())


def test_sitemap(client, world):
    text = client.get("/sitemap.xml").text
    assert "/datasets/bus-stops<" in text and "/datasets/taxi-trips<" in text
    assert_hidden(text)
