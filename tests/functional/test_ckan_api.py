"""The CKAN Action API subset against a real server, called by the real ckanapi client and CLI
the way CKAN harvesters call it."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import ckanapi
import httpx
import pytest

from kaifang.auth.actions import do_create_token
from kaifang.auth.models import MembershipRole
from kaifang.auth.queries import principal_for
from kaifang.catalog.vocab import OpenType
from tests.browser.conftest import LiveServer
from tests.factories import make_org, make_user
from tests.unit.catalog.search.helpers import make_entry

CKANAPI = str(Path(sys.executable).parent / "ckanapi")
T0 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


def _provider(session, settings, slug="transport", name="市交通运输局"):
    org = make_org(session, slug, name=name)
    user = make_user(session, settings, f"{slug}_staff", org=org, membership=MembershipRole.STAFF)
    return org, principal_for(session, user)


def _hidden(session, org, staff):
    make_entry(session, staff, org, "secret-roster", title="公交驾驶员名册", open_type=OpenType.NON_OPEN,
               legal_basis="《个人信息保护法》", share_type="not_shared", access_modes=[])
    make_entry(session, staff, org, "draft-stops", title="公交站点草稿", published=False)


@pytest.fixture
def small(session, settings):
    org, staff = _provider(session, settings)
    make_entry(session, staff, org, "bus-stops", keywords=["公交", "站点"], when=T0)
    make_entry(session, staff, org, "bus-lines", title="公交线路信息", summary="全市公交线路的走向。",
               formats=["CSV", "JSON"], keywords=[], items=[], when=T0 + dt.timedelta(days=5))
    make_entry(session, staff, org, "taxi-trips", title="出租车运营数据", summary="巡游出租车的运营记录。",
               open_type=OpenType.CONDITIONAL, keywords=[], items=[], when=T0 + dt.timedelta(days=9))
    _hidden(session, org, staff)
    _row, token = do_create_token(session, staff, "harvester", None)
    session.commit()
    with LiveServer(settings) as server:
        yield {"url": server.url, "token": token, "org": org}


def remote(url, **kw):
    return ckanapi.RemoteCKAN(url, user_agent="kaifang-tests", **kw)


def test_ckanapi_package_search(small):
    ckan = remote(small["url"])
    result = ckan.action.package_search(q="公交 站点", rows=10, **{"facet.field": ["organization", "res_format"]})
    assert [p["name"] for p in result["results"]] == ["bus-stops"]
    assert set(result) == {"count", "results", "search_facets", "sort"}
    everything = ckan.action.package_search(q="*:*", rows=10, **{"facet.field": ["organization", "res_format"]})
    assert everything["count"] == 3
    assert everything["search_facets"]["organization"]["items"] == [
        {"name": "transport", "display_name": "市交通运输局", "count": 3}]
    assert {i["name"]: i["count"] for i in everything["search_facets"]["res_format"]["items"]} == {"CSV": 3, "JSON": 1}


def test_ckanapi_get_only_and_filters(small):
    ckan = remote(small["url"], get_only=True)
    since = ckan.action.package_search(fq="metadata_modified:[2025-03-05T00:00:00Z TO *]", sort="metadata_modified desc")
    assert [p["name"] for p in since["results"]] == ["taxi-trips", "bus-lines"]
    by_org = ckan.action.package_search(fq='organization:"transport" +dataset_type:dataset', rows=1, start=1,
                                        sort="name asc")
    assert by_org["count"] == 3 and [p["name"] for p in by_org["results"]] == ["bus-stops"]


def test_ckanapi_command_line(small):
    out = subprocess.run([CKANAPI, "action", "package_search", "-r", small["url"], "q=公交", "rows=5"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    result = json.loads(out)
    assert {p["name"] for p in result["results"]} == {"bus-stops", "bus-lines"}
    shown = json.loads(subprocess.run([CKANAPI, "action", "package_show", "-r", small["url"], "id=bus-lines"],
                                      capture_output=True, text=True, timeout=60, check=True).stdout)
    assert shown["num_resources"] == 3 and {r["format"] for r in shown["resources"]} == {"CSV", "JSON", "API"}


PACKAGE_FIELDS = {"id", "name", "title", "notes", "url", "version", "author", "maintainer", "license_id",
                  "license_title", "isopen", "type", "owner_org", "organization", "private", "state",
                  "metadata_created", "metadata_modified", "num_resources", "num_tags", "resources", "tags",
                  "groups", "extras"}


def test_package_show_fields(small):
    ckan = remote(small["url"])
    package = ckan.action.package_show(id="bus-stops")
    assert set(package) == PACKAGE_FIELDS
    assert set(package["organization"]) == {"id", "name", "title", "description", "image_url", "created",
                                            "is_organization", "state"}
    assert set(package["resources"][0]) == {"id", "package_id", "url", "name", "description", "format", "mimetype",
                                            "size", "created", "last_modified", "position", "url_type",
                                            "datastore_active"}
    assert package["tags"][0].keys() == {"id", "name", "display_name"}
    assert ckan.action.package_show(id=package["id"])["name"] == "bus-stops"  # by id as well
    assert package["metadata_modified"].startswith("2025-03-01T")


def test_other_read_actions(small):
    ckan = remote(small["url"])
    assert ckan.action.package_list() == ["bus-lines", "bus-stops", "taxi-trips"]
    assert ckan.action.organization_list() == ["transport"]
    org = ckan.action.organization_show(id="transport", include_datasets=True)
    assert org["package_count"] == 3 and len(org["packages"]) == 3
    assert ckan.action.tag_list() == ["公交", "站点"]
    assert ckan.action.status_show()["ckan_version"].startswith("2.")


def test_error_envelopes_are_ckans(small):
    url, ckan = small["url"], remote(small["url"])
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="secret-roster")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.organization_show(id="nowhere")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(sort="popularity desc")
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="private:true")
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.package_search(rows="many")
    with pytest.raises(ckanapi.NotAuthorized):
        remote(url, apikey="kf_not_a_token").action.package_list()
    response = httpx.get(f"{url}/api/action/package_show", params={"id": "draft-stops"})
    assert response.status_code == 404
    assert response.json() == {"help": f"{url}/api/3/action/help_show?name=package_show", "success": False,
                               "error": {"__type": "Not Found Error", "message": "Not found"}}
    invalid = httpx.post(f"{url}/api/3/action/package_search", json={"rows": "x"})
    assert invalid.status_code == 409
    assert invalid.json()["error"] == {"__type": "Validation Error", "rows": ["Invalid integer"]}
    query = httpx.get(f"{url}/api/3/action/package_search", params={"sort": "nope asc"})
    assert query.status_code == 400 and query.json()["error"]["__type"] == "Search Query Error"
    denied = httpx.get(f"{url}/api/3/action/package_list", headers={"Authorization": "kf_bad"})
    assert denied.status_code == 403 and denied.json()["error"]["__type"] == "Authorization Error"
    assert httpx.get(f"{url}/api/3/action/package_delete").status_code == 400


def test_rows_are_capped(small):
    body = httpx.get(f"{small['url']}/api/3/action/package_search", params={"rows": 5000}).json()
    assert body["success"] and body["result"]["count"] == 3


@pytest.mark.slow
def test_harvester_paging_sees_every_public_entry_once(session, settings):
    org, staff = _provider(session, settings)
    other, other_staff = _provider(session, settings, "health", "市卫生健康委员会")
    public = set()
    for i in range(260):
        owner, actor = (org, staff) if i % 3 else (other, other_staff)
        name = f"set-{i:03d}"
        make_entry(session, actor, owner, name, title=f"公共数据集{i}", when=T0 + dt.timedelta(minutes=i % 7),
                   items=[])
        public.add(name)
    _hidden(session, org, staff)
    session.commit()
    with LiveServer(settings) as server:
        seen: list[str] = []
        start, count = 0, None
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while count is None or start < count:
                body = http.get("/api/3/action/package_search",
                                params={"rows": 100, "start": start, "sort": "id asc"}).json()["result"]
                count = body["count"]
                seen += [p["name"] for p in body["results"]]
                start += 100
        assert count == 260 and len(seen) == 260 and set(seen) == public
        ckan = remote(server.url)
        pages = [ckan.action.package_search(rows=100, start=s, sort="id asc")["results"] for s in (0, 100, 200)]
        ids = [p["id"] for page in pages for p in page]
        assert ids == sorted(ids) and len(set(ids)) == 260
