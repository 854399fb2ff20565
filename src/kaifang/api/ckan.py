"""A read-only subset of the CKAN Action API, so CKAN clients and harvesters (ckanapi,
ckanext-harvest, ckanext-dcat) can read the open catalog.

``GET|POST /api/3/action/NAME`` (and ``/api/action/NAME``), parameters in the query string or a
JSON body. Envelopes and error ``__type`` strings are CKAN's exactly, because clients map them to
exceptions. Only public entries are served, whoever asks (``public_clause``): harvesters
republish what they read, so non-open entries and drafts must never reach them. Rows are read
with ``datastore_search`` (``kaifang.api.datastore``), through the data API's access checks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kaifang.api.datastore import PATH as DATASTORE_PATH
from kaifang.api.datastore import datastore_search
from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.catalog.dcat import dataset_url, distributions, modified, stable_id
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.search import SearchQuery, Sort, search
from kaifang.catalog.search.models import SearchFacet
from kaifang.catalog.visibility import public_clause
from kaifang.catalog.vocab import AccessMode, OpenType
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion, VersionStatus
from kaifang.errors import (
    Forbidden,
    InvalidParameter,
    KaifangError,
    NotAuthenticated,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db, settings_of

# The CKAN release whose Action API this subset follows.
CKAN_VERSION = "2.10.4"
MAX_ROWS = 1000
Params = dict[str, Any]


class CkanError(Exception):
    def __init__(self, status: int, kind: str, message: str, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.fields = status, kind, message, fields or {}
        self.headers = headers or {}


def not_found(message: str = "Not found") -> CkanError:
    return CkanError(404, "Not Found Error", message)


def invalid(field: str, message: str) -> CkanError:
    return CkanError(409, "Validation Error", "", {field: [message]})


def query_error(message: str) -> CkanError:
    return CkanError(400, "Search Query Error", f"Search Query Error: {message}")


def _help_url(request: Request) -> str:
    name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    return f"{str(request.base_url).rstrip('/')}/api/3/action/help_show?name={name}"


def _error_response(request: Request, exc: CkanError) -> JSONResponse:
    error: dict[str, Any] = {"__type": exc.kind, "message": exc.message} if exc.message else {"__type": exc.kind}
    error.update(exc.fields)  # CKAN merges a validation error's fields into the error object
    return JSONResponse({"help": _help_url(request), "success": False, "error": error}, status_code=exc.status,
                        headers=exc.headers)


def _from_domain(exc: KaifangError) -> CkanError:
    if isinstance(exc, NotFound):
        return not_found(exc.message)
    if isinstance(exc, Forbidden | NotAuthenticated):
        return CkanError(403, "Authorization Error", exc.message)
    if isinstance(exc, ValidationFailed | InvalidParameter):
        return CkanError(409, "Validation Error", "", exc.fields)
    if isinstance(exc, RateLimited):
        # CKAN itself has no rate limits; clients see the HTTP status and Retry-After.
        return CkanError(429, "Rate Limit Error", exc.message, headers={"Retry-After": str(exc.retry_after)})
    return CkanError(exc.status_code, "Validation Error", exc.message)


class CkanRoute(APIRoute):
    """Turns every error, including those raised while resolving dependencies (a bad token),
    into CKAN's error envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except CkanError as exc:
                return _error_response(request, exc)
            except KaifangError as exc:
                return _error_response(request, _from_domain(exc))

        return run


router = APIRouter(tags=["ckan"], route_class=CkanRoute)


# ---- parameters ---------------------------------------------------------------------------------

def _int(params: Params, name: str, default: int, low: int = 0, high: int | None = None) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(name, "Invalid integer") from None
    if value < low:
        raise invalid(name, "Must be a natural number")
    return min(value, high) if high is not None else value


def _bool(params: Params, name: str) -> bool:
    raw = params.get(name, False)
    return raw is True or str(raw).lower() in ("true", "1", "yes", "on")


def _json_list(params: Params, name: str) -> list[str]:
    raw = params.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise invalid(name, "Could not parse as valid JSON") from None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise invalid(name, "Not a list of strings")
    return raw


def _date(text: str) -> dt.datetime | None:
    if text == "*":
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise query_error(f"Invalid date in fq: {text}") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# CKAN facet and filter names → the search's own facet fields.
FIELDS = {"organization": "provider", "groups": "domain", "tags": "tag", "res_format": "format",
          "license_id": "licence", "open_type": "open_type", "update_frequency": "update_frequency",
          "access_mode": "access_mode"}
_FQ_CLAUSE = re.compile(r'([+]?)([\w.]+):(\[[^\]]*\]|"[^"]*"|\S+)')
_NO_OP = {("dataset_type", "dataset"), ("type", "dataset"), ("capacity", "public"), ("state", "active")}


def _parse_fq(fq: str) -> tuple[dict[str, list[str]], dt.datetime | None, dt.datetime | None]:
    """The Solr filter subset harvesters send: ``metadata_modified:[DATE TO *]``,
    ``organization:NAME``, ``res_format:CSV`` …, joined by spaces or AND."""
    filters: dict[str, list[str]] = {}
    since = until = None
    rest = _FQ_CLAUSE.sub(" ", fq).replace(" AND ", " ").strip()
    if rest and rest != "AND":
        raise query_error(f"Unsupported filter: {rest}")
    for _plus, field, raw in _FQ_CLAUSE.findall(fq):
        value = raw.strip('"')
        if field == "metadata_modified" and raw.startswith("["):
            low, _sep, high = raw[1:-1].partition(" TO ")
            since, until = _date(low.strip()), _date(high.strip())
        elif field == "owner_org":
            filters.setdefault("owner_org", []).append(value)
        elif field in FIELDS:
            filters.setdefault(FIELDS[field], []).append(value)
        elif (field, value) not in _NO_OP:
            raise query_error(f"Unsupported filter field: {field}")
    return filters, since, until


SORTS = {"score desc, metadata_modified desc": Sort.RELEVANCE, "score desc": Sort.RELEVANCE,
         "relevance asc": Sort.RELEVANCE, "id asc": Sort.ID, "name asc": Sort.NAME,
         "title_string asc": Sort.TITLE, "metadata_modified desc": Sort.MODIFIED_DESC,
         "metadata_modified asc": Sort.MODIFIED_ASC, "metadata_created desc": Sort.CREATED_DESC,
         "views_recent desc": Sort.MOST_USED, "views_total desc": Sort.MOST_USED}


def _parse_q(q: str, filters: dict[str, list[str]]) -> str:
    """Free text, ``*:*`` for everything, or one ``field:value`` on a facet field."""
    q = q.strip()
    if q in ("", "*:*", "*"):
        return ""
    field, sep, value = q.partition(":")
    if sep and field in FIELDS and value:
        filters.setdefault(FIELDS[field], []).append(value.strip('"'))
        return ""
    if sep and field in ("text", "title", "notes", "name"):
        return value
    return q


# ---- dictionaries ---------------------------------------------------------------------------------

def _time(value: dt.datetime | None) -> str | None:
    # CKAN writes naive UTC timestamps.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat() if value else None


def organization_dict(org: Organisation, package_count: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": org.id, "name": org.slug, "title": org.name, "display_name": org.name,
           "description": org.description, "image_url": "", "image_display_url": "",
           "created": _time(org.created_at), "is_organization": True,
           "state": "active" if org.is_active else "deleted", "type": "organization",
           "approval_status": "approved"}
    if package_count is not None:
        out["package_count"] = package_count
    return out


def _resources(entry: CatalogEntry, base: str, has_data: bool) -> list[dict[str, Any]]:
    # The API resource reads its rows with datastore_search once a version is published.
    return [{"id": d.id, "package_id": entry.id, "url": d.access_url, "name": d.title, "description": "",
             "format": d.format, "mimetype": d.media_type, "size": None, "created": _time(entry.created_at),
             "last_modified": _time(modified(entry)), "position": i, "url_type": None,
             "datastore_active": has_data and d.access_mode == AccessMode.API}
            for i, d in enumerate(distributions(entry, base))]


def with_data(db: Session, entries: list[CatalogEntry]) -> set[str]:
    """Which of ``entries`` have a published version."""
    ids = [e.id for e in entries]
    if not ids:
        return set()
    return set(db.scalars(select(DatasetVersion.entry_id).where(
        DatasetVersion.entry_id.in_(ids), DatasetVersion.status == VersionStatus.PUBLISHED)))


def _extras(entry: CatalogEntry) -> list[dict[str, str]]:
    values = {"open_type": entry.open_type, "open_conditions": entry.open_conditions,
              "update_frequency": entry.update_frequency, "access_modes": ",".join(entry.access_modes or ()),
              "spatial_coverage": entry.spatial_coverage,
              "temporal_start": entry.temporal_start.isoformat() if entry.temporal_start else "",
              "temporal_end": entry.temporal_end.isoformat() if entry.temporal_end else ""}
    return [{"key": k, "value": v} for k, v in values.items() if v]


def package_dict(entry: CatalogEntry, base: str, has_data: bool = False) -> dict[str, Any]:
    """package_show's result, with exactly CKAN's field list."""
    org = entry.provider
    tags = [{"id": stable_id("tag", t), "name": t, "display_name": t} for t in entry.keywords or ()]
    groups = [{"id": entry.domain.code, "name": entry.domain.code, "title": entry.domain.name,
               "display_name": entry.domain.name, "description": "", "image_display_url": ""}] if entry.domain else []
    resources = _resources(entry, base, has_data)
    return {
        "id": entry.id, "name": entry.name, "title": entry.title, "notes": entry.summary,
        "url": dataset_url(base, entry), "version": None, "author": org.name, "maintainer": org.name,
        "license_id": entry.licence or "notspecified", "license_title": entry.licence or "License not specified",
        "isopen": entry.open_type == OpenType.UNCONDITIONAL, "type": "dataset", "owner_org": org.id,
        "organization": {k: v for k, v in organization_dict(org).items() if k in _ORG_IN_PACKAGE},
        "private": False, "state": "active", "metadata_created": _time(entry.created_at),
        "metadata_modified": _time(modified(entry)), "num_resources": len(resources), "num_tags": len(tags),
        "resources": resources, "tags": tags, "groups": groups, "extras": _extras(entry),
    }


_ORG_IN_PACKAGE = ("id", "name", "title", "description", "image_url", "created", "is_organization", "state")


# ---- actions ----------------------------------------------------------------------------------------

def _public_entry(db: Session, ref: str) -> CatalogEntry:
    entry = db.scalars(select(CatalogEntry).where(
        public_clause(), or_(CatalogEntry.id == ref, CatalogEntry.name == ref))).first()
    if entry is None:
        raise not_found()
    return entry


def _facet_items(db: Session, field: str, counts: list[tuple[str, int]]) -> list[dict[str, Any]]:
    names = {}
    if field == "provider":
        names = dict(db.execute(select(Organisation.slug, Organisation.name)
                                .where(Organisation.slug.in_([v for v, _n in counts]))).all())
    return [{"name": v, "display_name": names.get(v, v), "count": n} for v, n in counts]


def package_search(db: Session, params: Params, base: str) -> dict[str, Any]:
    filters, since, until = _parse_fq(str(params.get("fq") or ""))
    text = _parse_q(str(params.get("q") or ""), filters)
    if owners := filters.pop("owner_org", None):
        slugs = db.scalars(select(Organisation.slug).where(Organisation.id.in_(owners))).all()
        filters.setdefault("provider", []).extend(slugs or ["-"])
    sort_text = " ".join(str(params.get("sort") or "score desc, metadata_modified desc").split()).lower()
    if sort_text not in SORTS:
        raise query_error(f"Unsupported sort: {sort_text}")
    facet_fields = _json_list(params, "facet.field")
    unknown = [f for f in facet_fields if f not in FIELDS]
    if unknown:
        raise query_error(f"Unsupported facet field: {', '.join(unknown)}")
    limit = _int(params, "facet.limit", 50, low=-1)
    query = SearchQuery(text=text, filters=filters, sort=SORTS[sort_text],
                        offset=_int(params, "start", 0), limit=_int(params, "rows", 10, high=MAX_ROWS),
                        facet_fields=[FIELDS[f] for f in facet_fields],
                        facet_limit=limit if limit >= 0 else 1_000_000, modified_from=since, modified_to=until)
    result = search(db, public_clause(), query)
    facets = {f: {"title": f, "items": _facet_items(db, FIELDS[f], result.facets.get(FIELDS[f], []))}
              for f in facet_fields}
    active = with_data(db, list(result.entries))
    return {"count": result.total, "results": [package_dict(e, base, e.id in active) for e in result.entries],
            "search_facets": facets, "sort": sort_text}


def package_show(db: Session, params: Params, base: str) -> dict[str, Any]:
    ref = str(params.get("id") or params.get("name_or_id") or "")
    if not ref:
        raise invalid("id", "Missing value")
    entry = _public_entry(db, ref)
    return package_dict(entry, base, bool(with_data(db, [entry])))


def package_list(db: Session, params: Params, base: str) -> list[str]:
    stmt = select(CatalogEntry.name).where(public_clause()).order_by(CatalogEntry.name)
    stmt = stmt.offset(_int(params, "offset", 0))
    if params.get("limit") not in (None, ""):
        stmt = stmt.limit(_int(params, "limit", 0))
    return list(db.scalars(stmt))


def _package_counts(db: Session) -> dict[str, int]:
    rows = db.execute(select(CatalogEntry.provider_id, func.count()).where(public_clause())
                      .group_by(CatalogEntry.provider_id))
    return {org_id: n for org_id, n in rows}


def organization_list(db: Session, params: Params, base: str) -> list[Any]:
    stmt = select(Organisation).where(Organisation.is_active.is_(True))
    raw = params.get("organizations")
    wanted = _json_list(params, "organizations") if isinstance(raw, list) or str(raw or "").startswith("[") \
        else [v for v in str(raw or "").split(",") if v]
    if wanted:
        stmt = stmt.where(Organisation.slug.in_(wanted))
    counts = _package_counts(db)
    orgs = list(db.scalars(stmt))
    sort = " ".join(str(params.get("sort") or "name asc").split()).lower()
    orgs.sort(key=lambda o: (-counts.get(o.id, 0), o.slug) if sort.startswith("package_count") else
              (o.name if sort.startswith("title") else o.slug))
    offset, limit = _int(params, "offset", 0), _int(params, "limit", 1000, high=1000)
    orgs = orgs[offset:offset + limit]
    if _bool(params, "all_fields"):
        return [organization_dict(o, counts.get(o.id, 0)) for o in orgs]
    return [o.slug for o in orgs]


def organization_show(db: Session, params: Params, base: str) -> dict[str, Any]:
    ref = str(params.get("id") or "")
    if not ref:
        raise invalid("id", "Missing value")
    org = db.scalars(select(Organisation).where(Organisation.is_active.is_(True),
                                                or_(Organisation.id == ref, Organisation.slug == ref))).first()
    if org is None:
        raise not_found()
    out = organization_dict(org, _package_counts(db).get(org.id, 0))
    if _bool(params, "include_datasets"):
        entries = list(db.scalars(select(CatalogEntry).where(public_clause(), CatalogEntry.provider_id == org.id)
                                  .order_by(CatalogEntry.name).limit(1000)))
        active = with_data(db, entries)
        out["packages"] = [package_dict(e, base, e.id in active) for e in entries]
    return out


def tag_list(db: Session, params: Params, base: str) -> list[Any]:
    stmt = (select(SearchFacet.value).distinct()
            .join(CatalogEntry, CatalogEntry.id == SearchFacet.entry_id)
            .where(SearchFacet.field == "tag", public_clause()).order_by(SearchFacet.value))
    if query := str(params.get("query") or params.get("q") or ""):
        stmt = stmt.where(SearchFacet.value.contains(query, autoescape=True))
    tags = list(db.scalars(stmt))
    if _bool(params, "all_fields"):
        return [{"id": stable_id("tag", t), "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


def status_show(db: Session, params: Params, base: str) -> dict[str, Any]:
    return {"site_title": "开放公共数据平台", "site_description": "Kaifang public data open platform",
            "site_url": base, "ckan_version": CKAN_VERSION, "error_emails_to": None, "locale_default": "zh_CN",
            "extensions": []}


ACTIONS: dict[str, Callable[[Session, Params, str], Any]] = {
    f.__name__: f for f in (package_search, package_show, package_list, organization_list,
                            organization_show, tag_list, status_show)
}


async def _params(request: Request) -> Params:
    params: Params = dict(request.query_params)
    if request.method == "POST":
        body = await request.body()
        if body.strip():
            try:
                data = json.loads(body)
            except (ValueError, RecursionError) as exc:
                raise CkanError(400, "Bad Request", f"Bad request - JSON Error: {exc}") from None
            if not isinstance(data, dict):
                raise CkanError(400, "Bad Request", "Bad request - JSON Error: expected an object")
            params.update(data)
    return params


async def _dispatch(name: str, request: Request, db: Session, actor: Principal) -> Response:
    if name == "datastore_search":
        settings: Settings = settings_of(request)
        params = await _params(request)
        return await run_in_threadpool(datastore_search, request, db, settings, actor, params, _help_url(request))
    action = ACTIONS.get(name)
    if action is None:
        raise CkanError(400, "Bad Request", f"Bad request - Action name not known: {name}")
    params = await _params(request)
    base = settings_of(request).base_url.rstrip("/")
    # The actions are synchronous database work: keep them off the event loop.
    result = await run_in_threadpool(action, db, params, base)
    return JSONResponse({"help": _help_url(request), "success": True, "result": result})


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


DATASTORE_PARAMS = [
    {**_query("resource_id", "The API resource id of package_show, any resource id of the dataset, its id or its "
              "name.", {"type": "string"}), "required": True},
    _query("filters", 'JSON object: {"field": value} or {"field": [values]}.', {"type": "string"}),
    _query("q", 'Text found in any text field, or a JSON object {"field": "text"}.', {"type": "string"}),
    _query("fields", "Fields to return: comma-separated or a JSON list (default: all, with _id).",
           {"type": "string"}),
    _query("sort", "“field desc, other”; _id is the source row number.", {"type": "string"}),
    _query("limit", "Records per page (default 100; at most the platform's page maximum).",
           {"type": "integer", "minimum": 0}),
    _query("offset", "Records to skip.", {"type": "integer", "minimum": 0}),
    _query("include_total", "Count the matching records (default true).", {"type": "boolean"}),
    _query("records_format", "objects (default) or lists.", {"type": "string", "enum": ["objects", "lists"]}),
]


DATASTORE_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["resource_id"], "properties": {
        "resource_id": {"type": "string"}, "filters": {"type": "object"},
        "q": {"oneOf": [{"type": "string"}, {"type": "object"}]},
        "fields": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "sort": {"type": "string"}, "limit": {"type": "integer", "minimum": 0},
        "offset": {"type": "integer", "minimum": 0}, "include_total": {"type": "boolean"},
        "records_format": {"type": "string", "enum": ["objects", "lists"]}}}}}}


CKAN_ERROR = {"application/json": {"schema": {"type": "object", "required": ["help", "success", "error"],
                                             "properties": {"help": {"type": "string"},
                                                            "success": {"const": False},
                                                            "error": {"type": "object"}}}}}
DATASTORE_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad Request: a malformed JSON body.", "content": CKAN_ERROR},
    403: {"description": "Authorization Error: conditional data without a grant, an invalid token, or the "
                         "jurisdiction's identity rule.", "content": CKAN_ERROR},
    404: {"description": "Not Found Error: no such public resource.", "content": CKAN_ERROR},
    409: {"description": "Validation Error: a bad parameter, named in `error`.", "content": CKAN_ERROR},
    429: {"description": "Rate Limit Error: see `Retry-After`.", "content": CKAN_ERROR},
}


@router.get(DATASTORE_PATH, summary="CKAN DataStore: rows of a dataset", responses=DATASTORE_RESPONSES,
            openapi_extra={"parameters": DATASTORE_PARAMS})
async def datastore_search_get(request: Request, actor: Principal = Depends(PUBLIC),
                               db: Session = Depends(get_db)) -> Response:
    return await _dispatch("datastore_search", request, db, actor)


@router.post(DATASTORE_PATH, summary="CKAN DataStore: rows of a dataset (parameters in a JSON body)",
             responses=DATASTORE_RESPONSES, openapi_extra={"requestBody": DATASTORE_BODY})
async def datastore_search_post(request: Request, actor: Principal = Depends(PUBLIC),
                                db: Session = Depends(get_db)) -> Response:
    return await _dispatch("datastore_search", request, db, actor)


@router.get("/api/3/action/{name}", summary="CKAN Action API (read subset)")
async def action_v3_get(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                        db: Session = Depends(get_db)) -> Response:
    return await _dispatch(name, request, db, actor)


@router.post("/api/3/action/{name}", summary="CKAN Action API (read subset, parameters in a JSON body)")
async def action_v3_post(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                         db: Session = Depends(get_db)) -> Response:
    return await _dispatch(name, request, db, actor)


@router.api_route("/api/action/{name}", methods=["GET", "POST"], summary="CKAN Action API (read subset)",
                  include_in_schema=False)
async def action(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                 db: Session = Depends(get_db)) -> Response:
    return await _dispatch(name, request, db, actor)
