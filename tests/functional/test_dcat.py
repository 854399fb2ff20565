"""DCAT-AP feeds parse with rdflib and carry the required properties; the harvester imports our own
DCAT feed and our own CKAN API (served by a real server) into another provider's drafts, once."""

from __future__ import annotations

import datetime as dt

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns
from sqlalchemy import select

from kaifang.audit.models import AuditEvent
from kaifang.auth.models import MembershipRole
from kaifang.auth.queries import principal_for
from kaifang.catalog.harvest import dcat_records, harvest_ckan, harvest_dcat
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.vocab import EntryStatus, OpenType
from tests.browser.conftest import LiveServer
from tests.factories import make_org, make_user
from tests.unit.catalog.search.helpers import make_entry

EU = "http://publications.europa.eu/resource/authority/"
HYDRA_NEXT = URIRef("http://www.w3.org/ns/hydra/core#nextPage")


@pytest.fixture
def world(session, settings):
    org = make_org(session, "transport", name="市交通运输局")
    org.name_en, org.contact_email = "Transport Bureau", "open@transport.example"
    staff = principal_for(session, make_user(session, settings, "staff", org=org, membership=MembershipRole.STAFF))
    importer_org = make_org(session, "data-bureau", name="市大数据局")
    importer = principal_for(session, make_user(session, settings, "importer", org=importer_org))
    make_entry(session, staff, org, "bus-stops", title_en="Bus stops", keywords=["公交", "站点"],
               temporal_start="2020-01-01", temporal_end="2024-12-31", spatial_coverage="全市",
               licence="https://creativecommons.org/licenses/by/4.0/")
    make_entry(session, staff, org, "taxi-trips", title="出租车运营数据", open_type=OpenType.CONDITIONAL,
               update_frequency="daily", formats=["JSON"], access_modes=["api"])
    make_entry(session, staff, org, "secret-roster", title="公交驾驶员名册", open_type=OpenType.NON_OPEN,
               legal_basis="《个人信息保护法》", share_type="not_shared", access_modes=[])
    session.commit()
    return {"org": org, "importer_org": importer_org, "importer": importer}


def _graph(client, path, fmt):
    response = client.get(path)
    assert response.status_code == 200
    return Graph().parse(data=response.text, format=fmt), response


@pytest.mark.parametrize(("path", "fmt", "media"), [("/catalog.jsonld", "json-ld", "application/ld+json"),
                                                     ("/catalog.ttl", "turtle", "text/turtle")])
def test_catalog_feed_carries_dcat_ap(client, world, path, fmt, media):
    graph, response = _graph(client, path, fmt)
    assert response.headers["content-type"].startswith(media)
    catalog = next(graph.subjects(ns.RDF.type, ns.DCAT.Catalog))
    datasets = set(graph.objects(catalog, ns.DCAT.dataset))
    assert {str(d).rsplit("/", 1)[-1] for d in datasets} == {"bus-stops", "taxi-trips"}
    stops = next(d for d in datasets if str(d).endswith("/bus-stops"))
    assert Literal("公交站点位置信息", lang="zh") in set(graph.objects(stops, ns.DCTERMS.title))
    assert Literal("Bus stops", lang="en") in set(graph.objects(stops, ns.DCTERMS.title))
    assert graph.value(stops, ns.DCTERMS.description)
    publisher = graph.value(stops, ns.DCTERMS.publisher)
    assert (publisher, ns.RDF.type, ns.FOAF.Organization) in graph
    assert Literal("市交通运输局", lang="zh") in set(graph.objects(publisher, ns.FOAF.name))
    assert {str(k) for k in graph.objects(stops, ns.DCAT.keyword)} == {"公交", "站点"}
    assert graph.value(stops, ns.DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    assert graph.value(stops, ns.DCTERMS.accrualPeriodicity) == URIRef(EU + "frequency/MONTHLY")
    assert URIRef(EU + "data-theme/TRAN") in set(graph.objects(stops, ns.DCAT.theme))
    period = graph.value(stops, ns.DCTERMS.temporal)
    assert str(graph.value(period, ns.DCAT.startDate)) == "2020-01-01"
    assert graph.value(stops, ns.DCTERMS.issued) and graph.value(stops, ns.DCTERMS.modified)
    distributions = list(graph.objects(stops, ns.DCAT.distribution))
    assert {str(graph.value(d, ns.DCTERMS.format)).rsplit("/", 1)[-1] for d in distributions} == {"CSV", "API"}
    assert all(graph.value(d, ns.DCAT.accessURL) for d in distributions)
    taxi = next(d for d in datasets if str(d).endswith("/taxi-trips"))
    assert graph.value(taxi, ns.DCTERMS.accessRights) == URIRef(EU + "access-right/RESTRICTED")


def test_dataset_feed(client, world):
    graph, _ = _graph(client, "/datasets/taxi-trips.ttl", "turtle")
    assert len(set(graph.subjects(ns.RDF.type, ns.DCAT.Dataset))) == 1
    graph, _ = _graph(client, "/datasets/bus-stops.jsonld", "json-ld")
    assert (None, ns.RDF.type, ns.DCAT.Dataset) in graph
    assert client.get("/datasets/secret-roster.jsonld").status_code == 404


def test_catalog_pages(client, world, monkeypatch):
    monkeypatch.setattr("kaifang.api.dcat.PAGE_SIZE", 1)
    first, _ = _graph(client, "/catalog.ttl", "turtle")
    assert len(set(first.subjects(ns.RDF.type, ns.DCAT.Dataset))) == 1
    assert str(next(first.objects(None, HYDRA_NEXT))).endswith("/catalog.ttl?page=2")
    second, _ = _graph(client, "/catalog.ttl?page=2", "turtle")
    assert next(second.objects(None, HYDRA_NEXT), None) is None
    assert set(first.subjects(ns.RDF.type, ns.DCAT.Dataset)) != set(second.subjects(ns.RDF.type, ns.DCAT.Dataset))


def test_records_from_a_document(client, world):
    records, following = dcat_records(client.get("/catalog.ttl").text)
    assert following is None
    stops = next(r for r in records if r.name_hint == "bus-stops")
    assert (stops.title, stops.title_en, stops.update_frequency, stops.formats) == (
        "公交站点位置信息", "Bus stops", "monthly", ["CSV"])
    assert sorted(stops.access_modes) == ["api", "download"] and stops.themes


def _drafts(session, org):
    return list(session.scalars(select(CatalogEntry).where(CatalogEntry.provider_id == org.id)))


def test_harvest_own_dcat_into_drafts_once(session, settings, world, monkeypatch):
    monkeypatch.setattr("kaifang.api.dcat.PAGE_SIZE", 1)  # the harvester follows the hydra pages
    with LiveServer(settings) as server:
        report = harvest_dcat(session, world["importer"], world["importer_org"], f"{server.url}/catalog.jsonld")
        session.commit()
        assert len(report.created) == 2 and not report.failed
        drafts = {e.title: e for e in _drafts(session, world["importer_org"])}
        assert set(drafts) == {"公交站点位置信息", "出租车运营数据"}
        taxi = drafts["出租车运营数据"]
        assert taxi.status == EntryStatus.DRAFT and taxi.open_type == OpenType.CONDITIONAL and taxi.legal_basis
        assert taxi.update_frequency == "daily" and taxi.access_modes == ["api"]
        assert taxi.extras["harvest_source"] == f"{server.url}/datasets/taxi-trips"
        stops = drafts["公交站点位置信息"]
        assert stops.domain_code == "transport" and stops.temporal_start == dt.date(2020, 1, 1)
        assert stops.keywords == ["公交", "站点"] and stops.spatial_coverage == "全市"
        again = harvest_dcat(session, world["importer"], world["importer_org"], f"{server.url}/catalog.ttl")
        session.commit()
    assert again.created == [] and len(again.skipped) == 2
    assert len(_drafts(session, world["importer_org"])) == 2
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "catalog.harvest")).all()
    assert [e.data["created"] for e in events] == [2, 0]


def test_harvest_own_ckan_into_drafts_once(session, settings, world):
    with LiveServer(settings) as server:
        report = harvest_ckan(session, world["importer"], world["importer_org"], server.url)
        session.commit()
        assert len(report.created) == 2 and not report.failed
        again = harvest_ckan(session, world["importer"], world["importer_org"], server.url)
        session.commit()
    assert again.created == [] and len(again.skipped) == 2
    drafts = _drafts(session, world["importer_org"])
    assert {d.status for d in drafts} == {EntryStatus.DRAFT}
    taxi = next(d for d in drafts if d.title == "出租车运营数据")
    assert taxi.open_type == OpenType.CONDITIONAL and taxi.open_conditions and taxi.legal_basis
    assert taxi.extras["harvest_source"].startswith(f"{server.url}/dataset/")
    # The drafts are the importer's own: the public sees none of them.
    assert "secret-roster" not in {d.name for d in drafts}


FOREIGN = """
@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<https://old.example.gov.cn/ds/42> a dcat:Dataset ;
  dct:identifier "Road Works 2023" ; dct:title "道路施工计划" ; dct:description "年度道路施工计划。" ;
  dct:accessRights <http://publications.europa.eu/resource/authority/access-right/RESTRICTED> ;
  dct:accrualPeriodicity <http://publications.europa.eu/resource/authority/frequency/ANNUAL> ;
  dcat:theme <http://publications.europa.eu/resource/authority/data-theme/TRAN> ;
  dcat:keyword "道路", "施工" ;
  dcat:distribution [ a dcat:Distribution ; dct:format <http://publications.europa.eu/resource/authority/file-type/CSV> ] ,
                    [ a dcat:Distribution ; dct:format "ZIP" ] .
"""


def test_harvest_a_foreign_dcat_document(session, world):
    report = harvest_dcat(session, world["importer"], world["importer_org"], FOREIGN)
    session.commit()
    assert report.created == ["road-works-2023"] and not report.failed
    entry = _drafts(session, world["importer_org"])[0]
    assert (entry.title, entry.title_en, entry.domain_code, entry.update_frequency) == (
        "道路施工计划", "", "transport", "yearly")
    assert entry.open_type == OpenType.CONDITIONAL and "https://old.example.gov.cn/ds/42" in entry.legal_basis
    assert entry.formats == ["CSV"] and entry.access_modes == ["download"] and sorted(entry.keywords) == sorted(["道路", "施工"])
    assert harvest_dcat(session, world["importer"], world["importer_org"], FOREIGN).skipped == [
        "https://old.example.gov.cn/ds/42"]
