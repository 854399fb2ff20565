"""DCAT-AP description of the public catalog (rdflib), and the distributions of an entry.

Only public entries are ever described (``public_clause``): the feed is read by harvesters that
republish it, whoever they are. Non-open entries are never exported, so NON_PUBLIC never appears.
The distributions are shared with the CKAN API (as resources), so both feeds list the same ones.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy import func, select
from sqlalchemy.orm import Session, lazyload

from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import public_clause
from kaifang.catalog.vocab import AccessMode, OpenType, UpdateFrequency
from kaifang.errors import NotFound
from kaifang.i18n import _

HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
ACCESS_RIGHTS = {
    OpenType.UNCONDITIONAL: URIRef(EU + "access-right/PUBLIC"),
    OpenType.CONDITIONAL: URIRef(EU + "access-right/RESTRICTED"),
    OpenType.NON_OPEN: URIRef(EU + "access-right/NON_PUBLIC"),
}
FREQUENCIES: dict[str, str] = {
    UpdateFrequency.REAL_TIME: "UPDATE_CONT", UpdateFrequency.DAILY: "DAILY", UpdateFrequency.WEEKLY: "WEEKLY",
    UpdateFrequency.MONTHLY: "MONTHLY", UpdateFrequency.QUARTERLY: "QUARTERLY",
    UpdateFrequency.HALF_YEARLY: "ANNUAL_2", UpdateFrequency.YEARLY: "ANNUAL", UpdateFrequency.IRREGULAR: "IRREG",
}
# The closest EU data theme of each default domain (entries also carry the platform's own theme).
EU_THEMES = {
    "economy": "ECON", "finance": "ECON", "market": "ECON", "credit": "ECON", "transport": "TRAN",
    "environment": "ENVI", "urban": "REGI", "education": "EDUC", "health": "HEAL", "social-security": "SOCI",
    "civil-affairs": "SOCI", "culture": "EDUC", "agriculture": "AGRI", "safety": "JUST", "geo": "REGI",
    "weather": "ENVI", "government": "GOVE",
}
MEDIA_TYPES = {
    "CSV": "text/csv", "JSON": "application/json", "GeoJSON": "application/geo+json",
    "XLSX": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "XLS": "application/vnd.ms-excel", "Parquet": "application/vnd.apache.parquet", "PDF": "application/pdf",
    "DOC": "application/msword", "API": "application/json",
}
PAGE_SIZE = 100
_IDS = uuid.UUID("6b3f0f4e-2c57-4c8e-9a51-6d1c0f7f8a10")  # namespace of derived resource ids


@dataclass(frozen=True)
class Distribution:
    id: str
    title: str
    format: str
    media_type: str | None
    access_mode: str
    access_url: str


def dataset_url(base_url: str, entry: CatalogEntry) -> str:
    return f"{base_url.rstrip('/')}/datasets/{entry.name}"


def stable_id(*parts: str) -> str:
    """A UUID derived from the parts: the same resource keeps its id across exports."""
    return str(uuid.uuid5(_IDS, "/".join(parts)))


def distributions(entry: CatalogEntry, base_url: str) -> list[Distribution]:
    """One distribution per downloadable format, plus one per service access mode."""
    page = dataset_url(base_url, entry)
    modes = set(entry.access_modes or ())
    out: list[Distribution] = []
    if AccessMode.DOWNLOAD in modes:
        out += [Distribution(stable_id(entry.id, "download", fmt), f"{entry.title}（{fmt}）", fmt,
                             MEDIA_TYPES.get(fmt), AccessMode.DOWNLOAD, page)
                for fmt in entry.formats or () if fmt != "API"]
    if AccessMode.API in modes:
        out.append(Distribution(stable_id(entry.id, "api"), f"{entry.title}（API）", "API",
                                MEDIA_TYPES["API"], AccessMode.API, page))
    if AccessMode.ALGORITHM in modes:
        out.append(Distribution(stable_id(entry.id, "algorithm"), f"{entry.title}（算法模型访问）", "API",
                                None, AccessMode.ALGORITHM, page))
    return out


def modified(entry: CatalogEntry) -> dt.datetime:
    return entry.published_at or entry.updated_at


class _Builder:
    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.graph = Graph()
        for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("hydra", HYDRA),
                           ("skos", SKOS), ("vcard", VCARD)):
            self.graph.bind(prefix, ns)

    def add(self, s: URIRef | BNode, p: URIRef, o: object, lang: str | None = None) -> None:
        if o is None or o == "":
            return
        if isinstance(o, URIRef | BNode | Literal):
            self.graph.add((s, p, o))
        elif isinstance(o, dt.datetime):
            self.graph.add((s, p, Literal(o.astimezone(dt.UTC).isoformat(), datatype=XSD.dateTime)))
        elif isinstance(o, dt.date):
            self.graph.add((s, p, Literal(o.isoformat(), datatype=XSD.date)))
        else:
            self.graph.add((s, p, Literal(str(o), lang=lang)))

    def catalog(self) -> URIRef:
        node = URIRef(f"{self.base}/catalog")
        self.graph.add((node, RDF.type, DCAT.Catalog))
        self.add(node, DCTERMS.title, "开放公共数据目录", "zh")
        self.add(node, DCTERMS.title, "Open public data catalog", "en")
        self.add(node, DCTERMS.description, "本平台依法开放的公共数据资源目录（无条件开放与有条件开放）。", "zh")
        self.add(node, FOAF.homepage, URIRef(f"{self.base}/"))
        return node

    def publisher(self, entry: CatalogEntry) -> URIRef:
        org = entry.provider
        node = URIRef(f"{self.base}/organisations/{org.slug}")
        self.graph.add((node, RDF.type, FOAF.Organization))
        self.add(node, FOAF.name, org.name, "zh")
        self.add(node, FOAF.name, org.name_en, "en")
        return node

    def dataset(self, entry: CatalogEntry) -> URIRef:
        node = URIRef(dataset_url(self.base, entry))
        g = self.graph
        g.add((node, RDF.type, DCAT.Dataset))
        self.add(node, DCTERMS.identifier, entry.name)
        self.add(node, DCTERMS.title, entry.title, "zh")
        self.add(node, DCTERMS.title, entry.title_en, "en")
        self.add(node, DCTERMS.description, entry.summary or entry.title, "zh")
        self.add(node, DCAT.landingPage, node)
        g.add((node, DCTERMS.publisher, self.publisher(entry)))
        g.add((node, DCTERMS.accessRights, ACCESS_RIGHTS[OpenType(entry.open_type)]))
        for keyword in entry.keywords or ():
            self.add(node, DCAT.keyword, keyword, "zh")
        self.add(node, DCTERMS.issued, entry.first_published_at or entry.published_at)
        self.add(node, DCTERMS.modified, modified(entry))
        frequency = FREQUENCIES.get(entry.update_frequency)
        if frequency:
            g.add((node, DCTERMS.accrualPeriodicity, URIRef(EU + "frequency/" + frequency)))
        self._themes(node, entry)
        self._coverage(node, entry)
        self._contact(node, entry)
        for dist in distributions(entry, self.base):
            g.add((node, DCAT.distribution, self.distribution(entry, dist)))
        return node

    def _themes(self, node: URIRef, entry: CatalogEntry) -> None:
        if entry.domain is None:
            return
        theme = URIRef(f"{self.base}/themes/{entry.domain.code}")
        self.graph.add((node, DCAT.theme, theme))
        self.graph.add((theme, RDF.type, SKOS.Concept))
        self.add(theme, SKOS.prefLabel, entry.domain.name, "zh")
        self.add(theme, SKOS.prefLabel, entry.domain.name_en, "en")
        if entry.domain.code in EU_THEMES:
            self.graph.add((node, DCAT.theme, URIRef(EU + "data-theme/" + EU_THEMES[entry.domain.code])))

    def _coverage(self, node: URIRef, entry: CatalogEntry) -> None:
        if entry.temporal_start or entry.temporal_end:
            period = BNode()
            self.graph.add((node, DCTERMS.temporal, period))
            self.graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
            self.add(period, DCAT.startDate, entry.temporal_start)
            self.add(period, DCAT.endDate, entry.temporal_end)
        if entry.spatial_coverage:
            place = BNode()
            self.graph.add((node, DCTERMS.spatial, place))
            self.graph.add((place, RDF.type, DCTERMS.Location))
            self.add(place, SKOS.prefLabel, entry.spatial_coverage, "zh")
        if entry.open_type == OpenType.CONDITIONAL and entry.open_conditions:
            rights = BNode()
            self.graph.add((node, DCTERMS.rights, rights))
            self.graph.add((rights, RDF.type, DCTERMS.RightsStatement))
            self.add(rights, RDFS.label, entry.open_conditions, "zh")

    def _contact(self, node: URIRef, entry: CatalogEntry) -> None:
        org = entry.provider
        if not org.contact_email:
            return
        card = BNode()
        self.graph.add((node, DCAT.contactPoint, card))
        self.graph.add((card, RDF.type, VCARD.Organization))
        self.add(card, VCARD.fn, org.name, "zh")
        self.graph.add((card, VCARD.hasEmail, URIRef(f"mailto:{org.contact_email}")))

    def distribution(self, entry: CatalogEntry, dist: Distribution) -> URIRef:
        node = URIRef(f"{dataset_url(self.base, entry)}/resources/{dist.id}")
        self.graph.add((node, RDF.type, DCAT.Distribution))
        self.add(node, DCTERMS.title, dist.title, "zh")
        self.graph.add((node, DCAT.accessURL, URIRef(dist.access_url)))
        self.graph.add((node, DCTERMS.format, URIRef(EU + "file-type/" + dist.format.upper())))
        if dist.media_type:
            self.graph.add((node, DCAT.mediaType, URIRef("https://www.iana.org/assignments/media-types/"
                                                         + dist.media_type)))
        if entry.licence:
            licence = URIRef(entry.licence) if entry.licence.startswith(("http://", "https://")) else BNode()
            self.graph.add((node, DCTERMS.license, licence))
            if isinstance(licence, BNode):
                self.add(licence, RDFS.label, entry.licence, "zh")
        return node

    def paging(self, page: int, per_page: int, total: int, url: str) -> None:
        node = URIRef(f"{url}?page={page}")
        last = max(1, math.ceil(total / per_page))
        g = self.graph
        g.add((node, RDF.type, HYDRA.PagedCollection))
        g.add((node, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
        g.add((node, HYDRA.itemsPerPage, Literal(per_page, datatype=XSD.integer)))
        g.add((node, HYDRA.firstPage, URIRef(f"{url}?page=1")))
        g.add((node, HYDRA.lastPage, URIRef(f"{url}?page={last}")))
        if page < last:
            g.add((node, HYDRA.nextPage, URIRef(f"{url}?page={page + 1}")))
        if page > 1:
            g.add((node, HYDRA.previousPage, URIRef(f"{url}?page={page - 1}")))


def catalog_graph(session: Session, base_url: str, page: int = 1, per_page: int = PAGE_SIZE,
                  feed_url: str | None = None) -> Graph:
    """One page of the public catalog, with hydra paging links to ``feed_url``."""
    total = session.scalar(select(func.count()).select_from(CatalogEntry).where(public_clause())) or 0
    builder = _Builder(base_url)
    catalog = builder.catalog()
    entries = session.scalars(select(CatalogEntry).where(public_clause()).order_by(CatalogEntry.id)
                              .offset((page - 1) * per_page).limit(per_page)
                              .options(lazyload(CatalogEntry.items)))
    for entry in entries:
        builder.graph.add((catalog, DCAT.dataset, builder.dataset(entry)))
    builder.paging(page, per_page, total, feed_url or f"{builder.base}/catalog.jsonld")
    return builder.graph


def dataset_graph(session: Session, base_url: str, name: str) -> Graph:
    entry = session.scalars(select(CatalogEntry).where(public_clause(), CatalogEntry.name == name)).first()
    if entry is None:
        raise NotFound(_("No such dataset."))
    builder = _Builder(base_url)
    builder.dataset(entry)
    return builder.graph


JSONLD_CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "hydra": str(HYDRA),
                  "skos": str(SKOS), "vcard": str(VCARD), "xsd": str(XSD), "rdfs": str(RDFS)}


def serialise(graph: Graph, fmt: str) -> str:
    if fmt == "jsonld":
        return graph.serialize(format="json-ld", context=JSONLD_CONTEXT, auto_compact=True)
    return graph.serialize(format="turtle")
