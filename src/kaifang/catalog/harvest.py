"""Harvesting other catalogs into draft entries of one provider (bringing old channels onto the
platform, CQ 8): a DCAT catalog (JSON-LD or Turtle, as text, a file or a URL, following hydra
paging) or a CKAN site's ``package_search`` (paged with rows/start, sorted by id).

Every record becomes a DRAFT through ``do_create_entry`` (validated and audited like any other);
the provider reviews and submits it. The source identifier is kept in
``entry.extras["harvest_source"]`` so a second run skips what is already there.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS, SKOS
from rdflib.term import Node
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.audit.actions import record
from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.auth.queries import principal_for, user_by_login
from kaifang.catalog.actions import do_create_entry
from kaifang.catalog.dcat import ACCESS_RIGHTS, EU_THEMES, FREQUENCIES, HYDRA
from kaifang.catalog.forms import NAME, EntryInput
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.search import index_entry
from kaifang.catalog.taxonomy import list_domains
from kaifang.catalog.vocab import FORMATS, AccessMode, OpenType, UpdateFrequency
from kaifang.config import Settings
from kaifang.db import make_engine, make_session_factory, unit_of_work
from kaifang.errors import ValidationFailed

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_PAGES = 10_000
CKAN_ROWS = 100
_FORMATS = {f.upper(): f for f in FORMATS}
_OPEN_TYPES = {str(uri): kind for kind, uri in ACCESS_RIGHTS.items()}
_FREQUENCIES = {code: freq for freq, code in FREQUENCIES.items()}
_FREQUENCY_WORDS = {**{f.value: f.value for f in UpdateFrequency}, "annual": "yearly", "annually": "yearly",
                    "semiannual": "half_yearly", "continuous": "real_time", "irreg": "irregular"}


@dataclass
class Record:
    """One dataset of a source, in the platform's terms."""

    source_id: str
    name_hint: str
    title: str
    title_en: str = ""
    summary: str = ""
    keywords: list[str] = field(default_factory=list)
    formats: list[str] = field(default_factory=list)
    access_modes: list[str] = field(default_factory=list)
    open_type: str = OpenType.UNCONDITIONAL
    open_conditions: str = ""
    update_frequency: str = UpdateFrequency.IRREGULAR
    licence: str = ""
    temporal_start: str = ""
    temporal_end: str = ""
    spatial: str = ""
    themes: list[str] = field(default_factory=list)
    url: str = ""


@dataclass
class HarvestReport:
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


# ---- reading DCAT ------------------------------------------------------------------------------------

def _literal(graph: Graph, subject: Node, predicate: URIRef, lang: str = "zh") -> str:
    """The value in the wanted language; for Chinese, else one without a language, else any."""
    values = [o for o in graph.objects(subject, predicate) if isinstance(o, Literal)]
    tagged = [v for v in values if (v.language or "").lower().startswith(lang)]
    if lang == "en" or tagged:
        return str(tagged[0]).strip() if tagged else ""
    plain = [v for v in values if not v.language] or values
    return str(plain[0]).strip() if plain else ""


def _label(graph: Graph, node: Node) -> str:
    if isinstance(node, Literal):
        return str(node)
    return _literal(graph, node, SKOS.prefLabel) or _literal(graph, node, RDFS.label) or \
        (str(node) if isinstance(node, URIRef) else "")


def _tail(uri: object) -> str:
    return re.split(r"[/#]", str(uri).rstrip("/"))[-1]


def _date(graph: Graph, period: Node, *predicates: URIRef) -> str:
    for predicate in predicates:
        for value in graph.objects(period, predicate):
            return str(value)[:10]
    return ""


def _distributions(graph: Graph, subject: Node, rec: Record) -> None:
    for dist in graph.objects(subject, DCAT.distribution):
        fmt = _tail(next(graph.objects(dist, DCTERMS.format), "")).upper()
        if fmt == "API":
            rec.access_modes.append(AccessMode.API)
        elif fmt in _FORMATS:
            rec.formats.append(_FORMATS[fmt])
            rec.access_modes.append(AccessMode.DOWNLOAD)
        licence = next(graph.objects(dist, DCTERMS.license), None)
        if licence is not None and not rec.licence:
            rec.licence = _label(graph, licence)


def _dcat_record(graph: Graph, subject: Node) -> Record:
    identifier = _literal(graph, subject, DCTERMS.identifier)
    source_id = str(subject) if isinstance(subject, URIRef) else identifier
    rec = Record(source_id=source_id, name_hint=identifier or _tail(subject),
                 title=_literal(graph, subject, DCTERMS.title), title_en=_literal(graph, subject, DCTERMS.title, "en"),
                 summary=_literal(graph, subject, DCTERMS.description),
                 keywords=[str(k) for k in graph.objects(subject, DCAT.keyword)],
                 url=str(next(graph.objects(subject, DCAT.landingPage), subject)))
    rights = next(graph.objects(subject, DCTERMS.accessRights), None)
    rec.open_type = _OPEN_TYPES.get(str(rights), OpenType.UNCONDITIONAL)
    conditions = next(graph.objects(subject, DCTERMS.rights), None)
    rec.open_conditions = _label(graph, conditions) if conditions is not None else ""
    frequency = next(graph.objects(subject, DCTERMS.accrualPeriodicity), None)
    rec.update_frequency = _FREQUENCIES.get(_tail(frequency), UpdateFrequency.IRREGULAR)
    rec.themes = [str(t) for t in graph.objects(subject, DCAT.theme)]
    for period in graph.objects(subject, DCTERMS.temporal):
        rec.temporal_start = _date(graph, period, DCAT.startDate, URIRef("http://schema.org/startDate"))
        rec.temporal_end = _date(graph, period, DCAT.endDate, URIRef("http://schema.org/endDate"))
    spatial = next(graph.objects(subject, DCTERMS.spatial), None)
    rec.spatial = _label(graph, spatial) if spatial is not None else ""
    _distributions(graph, subject, rec)
    return rec


def dcat_records(text: str, fmt: str | None = None) -> tuple[list[Record], str | None]:
    """The datasets of one DCAT document, and the address of its next page (hydra), if any."""
    graph = Graph()
    graph.parse(data=text, format=fmt or ("json-ld" if text.lstrip()[:1] in "{[" else "turtle"))
    records = [_dcat_record(graph, s) for s in graph.subjects(RDF.type, DCAT.Dataset)]
    following = [str(o) for o in graph.objects(None, HYDRA.nextPage)]
    return records, following[0] if following else None


def _fetch(client: httpx.Client, url: str, params: dict[str, Any] | None = None) -> httpx.Response:
    response = client.get(url, params=params)
    response.raise_for_status()
    return response


def read_dcat(source: str, client: httpx.Client | None = None, fmt: str | None = None) -> Iterator[Record]:
    """Records of a DCAT catalog given as a URL (paged), a file path, or the document itself."""
    if not source.startswith(("http://", "https://")):
        path = Path(source)
        text = path.read_text(encoding="utf-8") if len(source) < 1000 and path.is_file() else source
        yield from dcat_records(text, fmt)[0]
        return
    with client or httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http:
        url: str | None = source
        seen: set[str] = set()
        while url and url not in seen and len(seen) < MAX_PAGES:
            seen.add(url)
            response = _fetch(http, url)
            kind = fmt or ("json-ld" if "json" in response.headers.get("content-type", "") else None)
            records, url = dcat_records(response.text, kind)
            yield from records


# ---- reading CKAN ------------------------------------------------------------------------------------

def _extras(package: dict[str, Any]) -> dict[str, str]:
    return {str(e.get("key")): str(e.get("value") or "") for e in package.get("extras") or [] if isinstance(e, dict)}


def ckan_record(package: dict[str, Any], site: str) -> Record:
    extras = _extras(package)
    rec = Record(source_id=f"{site}/dataset/{package['id']}", name_hint=str(package.get("name") or ""),
                 title=str(package.get("title") or package.get("name") or ""), summary=str(package.get("notes") or ""),
                 keywords=[str(t.get("name")) for t in package.get("tags") or [] if t.get("name")],
                 licence=str(package.get("license_title") or package.get("license_id") or ""),
                 url=str(package.get("url") or f"{site}/dataset/{package.get('name')}"),
                 themes=[str(g.get("name")) for g in package.get("groups") or [] if g.get("name")])
    for resource in package.get("resources") or []:
        fmt = str(resource.get("format") or "").upper()
        if fmt == "API":
            rec.access_modes.append(AccessMode.API)
        elif fmt in _FORMATS:
            rec.formats.append(_FORMATS[fmt])
            rec.access_modes.append(AccessMode.DOWNLOAD)
    if extras.get("access_modes"):
        rec.access_modes = [m for m in extras["access_modes"].split(",") if m in set(AccessMode)]
    if extras.get("open_type") in set(OpenType):
        rec.open_type, rec.open_conditions = extras["open_type"], extras.get("open_conditions", "")
    frequency = extras.get("update_frequency") or extras.get("frequency") or extras.get("accrual_periodicity") or ""
    rec.update_frequency = _FREQUENCY_WORDS.get(frequency.lower(), _FREQUENCIES.get(_tail(frequency),
                                                                                   UpdateFrequency.IRREGULAR))
    rec.temporal_start, rec.temporal_end = extras.get("temporal_start", ""), extras.get("temporal_end", "")
    rec.spatial = extras.get("spatial_coverage", "")
    return rec


def read_ckan(site: str, client: httpx.Client | None = None, since: dt.datetime | None = None,
              rows: int = CKAN_ROWS) -> Iterator[Record]:
    """Every package of a CKAN site, the way CKAN harvesters page: rows/start, sorted by id."""
    site = site.rstrip("/")
    params: dict[str, Any] = {"rows": rows, "sort": "id asc"}
    if since:
        params["fq"] = f"metadata_modified:[{since.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%SZ')} TO *]"
    with client or httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http:
        for page in range(MAX_PAGES):
            body = _fetch(http, f"{site}/api/3/action/package_search", {**params, "start": page * rows}).json()
            results = body["result"]["results"]
            yield from (ckan_record(p, site) for p in results)
            if not results or (page + 1) * rows >= body["result"]["count"]:
                return


# ---- writing drafts ----------------------------------------------------------------------------------

# Harvested restrictions are recorded as such; the provider replaces them with the legal basis.
RESTRICTED_BASIS = "来源目录标注为受限访问，待开放主体补充法律依据：{url}"
RESTRICTED_CONDITIONS = "按来源目录的条件开放：{url}"


def _name(rec: Record, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_-]+", "-", rec.name_hint.lower()).strip("-_")[:80]
    digest = hashlib.sha1(rec.source_id.encode(), usedforsecurity=False).hexdigest()
    name = base if NAME.match(base) else f"h-{digest[:10]}"
    if name in taken:
        name = f"{name[:80]}-{digest[:8]}"
    return name


def _domain(rec: Record, codes: set[str], default: str) -> str:
    eu = {theme: code for code, theme in reversed(list(EU_THEMES.items()))}
    for theme in rec.themes:
        tail = _tail(theme)
        if tail in codes:
            return tail
        if eu.get(tail) in codes:
            return eu[tail]
    return default


def _input(rec: Record, name: str, domain: str) -> EntryInput:
    restricted = rec.open_type != OpenType.UNCONDITIONAL
    conditions = rec.open_conditions or RESTRICTED_CONDITIONS.format(url=rec.url)
    return EntryInput(
        name=name, title=rec.title[:200] or name, title_en=rec.title_en[:200], summary=rec.summary[:10000],
        domain_code=domain, open_type=rec.open_type, update_frequency=rec.update_frequency,
        legal_basis=RESTRICTED_BASIS.format(url=rec.url) if restricted else "",
        open_conditions=conditions if rec.open_type == OpenType.CONDITIONAL else "",
        access_modes=list(dict.fromkeys(rec.access_modes)) or [AccessMode.DOWNLOAD],
        formats=list(dict.fromkeys(rec.formats)), licence=rec.licence[:200],
        keywords=list(dict.fromkeys(k[:50] for k in rec.keywords if k.strip()))[:30],
        temporal_start=rec.temporal_start, temporal_end=rec.temporal_end, spatial_coverage=rec.spatial[:200])


def _known_sources(session: Session, provider: Organisation) -> set[str]:
    rows = session.scalars(select(CatalogEntry.extras).where(CatalogEntry.provider_id == provider.id))
    return {str(extras["harvest_source"]) for extras in rows if extras and extras.get("harvest_source")}


def harvest(session: Session, actor: Principal, provider: Organisation, records: Iterable[Record],
            source: str, default_domain: str = "other") -> HarvestReport:
    """Creates a draft of ``provider`` for each record not harvested before. Does not commit."""
    report = HarvestReport()
    known = _known_sources(session, provider)
    taken = set(session.scalars(select(CatalogEntry.name)))
    codes = {d.code for d in list_domains(session)}
    for rec in records:
        if rec.source_id in known:
            report.skipped.append(rec.source_id)
            continue
        name = _name(rec, taken)
        try:
            entry = do_create_entry(session, actor, provider, _input(rec, name, _domain(rec, codes, default_domain)))
        except ValidationFailed as exc:  # validation runs before any write: nothing to undo
            report.failed.append((rec.source_id, exc.message))
            continue
        entry.extras = {"harvest_source": rec.source_id, "harvest_url": rec.url}
        index_entry(session, entry)
        known.add(rec.source_id)
        taken.add(name)
        report.created.append(name)
    record(session, actor, "catalog.harvest", target_type="organisation", target_id=provider.id,
           data={"source": source[:500], "created": len(report.created), "skipped": len(report.skipped),
                 "failed": len(report.failed)})
    return report


def harvest_dcat(session: Session, actor: Principal, provider: Organisation, source: str,
                 default_domain: str = "other", client: httpx.Client | None = None) -> HarvestReport:
    label = source if source.startswith(("http://", "https://")) or len(source) < 300 else "DCAT document"
    return harvest(session, actor, provider, read_dcat(source, client), label, default_domain)


def harvest_ckan(session: Session, actor: Principal, provider: Organisation, site: str,
                 default_domain: str = "other", client: httpx.Client | None = None,
                 since: dt.datetime | None = None) -> HarvestReport:
    return harvest(session, actor, provider, read_ckan(site, client, since), site, default_domain)


def harvest_command(settings: Settings, kind: str, source: str, provider: str, username: str,
                    default_domain: str = "other", since: dt.datetime | None = None) -> HarvestReport:
    """For the CLI: harvest ``source`` (kind "dcat" or "ckan") into drafts of the provider with this
    slug, acting as ``username`` (a member of the provider or of a body above it); commits."""
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            user = user_by_login(session, username)
            org = session.scalars(select(Organisation).where(Organisation.slug == provider)).first()
            if user is None or org is None:
                raise ValueError(f"unknown {'user' if user is None else 'provider'}: "
                                 f"{username if user is None else provider}")
            actor = principal_for(session, user)
            if kind == "ckan":
                return harvest_ckan(session, actor, org, source, default_domain, since=since)
            if kind == "dcat":
                return harvest_dcat(session, actor, org, source, default_domain)
            raise ValueError(f"unknown source kind: {kind} (dcat or ckan)")
    finally:
        engine.dispose()
