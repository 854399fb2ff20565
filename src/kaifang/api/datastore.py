"""CKAN's ``datastore_search`` over the data API's engine, for CKAN clients that read rows.

The parameters and the result are CKAN's (2.10): ``resource_id``, ``filters``, ``q``, ``fields``,
``sort``, ``limit``, ``offset``, ``include_total``, ``records_format``; records carry ``_id``, the
source row number counted from 1. The request goes through the same gate, rate limits and access
log as the data API (``access_data`` with the CKAN channel), so conditional data needs a grant
here too. Refusals are domain errors; ``kaifang.api.ckan`` turns them into CKAN's envelopes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, load_only

from kaifang.access.columns import CKAN_TYPES, ROW, Column, ColumnKind
from kaifang.access.engine import Lru
from kaifang.access.log import Access
from kaifang.access.models import Channel
from kaifang.access.query import AnyContains, Condition, Filter, RowQuery, SortKey, parse_condition
from kaifang.access.reads import count_rows, read_offset
from kaifang.access.scope import Scope, access_data
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import china_today
from kaifang.catalog.dcat import distributions
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import public_clause
from kaifang.config import Settings
from kaifang.errors import InvalidParameter, NotFound
from kaifang.http.data import engine_of, meter, record_access, who
from kaifang.i18n import _

ID = "_id"
PATH = "/api/3/action/datastore_search"
DEFAULT_LIMIT = 100
MAX_OFFSET = 2**62
MAX_SORT_TEXT = 2000
PARAMS = frozenset({"resource_id", "filters", "q", "fields", "sort", "limit", "offset", "include_total",
                    "records_format", "distinct", "plain", "language"})
# Not CKAN's: the interface language, and what jQuery adds to defeat caches.
IGNORED = frozenset({"lang", "_"})
_SORT_PART = re.compile(r'^\s*(?:"((?:[^"]|"")+)"|(.+?))(?:\s+(asc|desc))?\s*$', re.IGNORECASE)
# Resource id → entry id. The ids are derived from the entry id, so an entry's stay true.
_RESOURCES = Lru(20_000)


# ---- the resource -----------------------------------------------------------------------------------

def entry_for_resource(db: Session, ref: str, base: str) -> CatalogEntry:
    """The public entry ``ref`` names: its id, its name, or the id of any of its resources."""
    stmt = select(CatalogEntry).where(public_clause())
    entry = db.scalars(stmt.where(or_(CatalogEntry.id == ref, CatalogEntry.name == ref))).first()
    if entry is not None:
        return entry
    entry_id = _RESOURCES.get(ref)
    if entry_id is None:
        light = stmt.options(load_only(CatalogEntry.id, CatalogEntry.name, CatalogEntry.title,
                                       CatalogEntry.formats, CatalogEntry.access_modes))
        for candidate in db.scalars(light):
            for distribution in distributions(candidate, base):
                _RESOURCES.put(distribution.id, candidate.id)
        entry_id = _RESOURCES.get(ref)
    entry = db.scalars(stmt.where(CatalogEntry.id == entry_id)).first() if entry_id else None
    if entry is None:
        raise NotFound(_("Resource “%(id)s” was not found.", id=ref[:100]))
    return entry


# ---- parameters -------------------------------------------------------------------------------------

def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json(params: Mapping[str, Any], name: str) -> Any:
    """A parameter that is JSON in a query string and already decoded in a JSON body."""
    raw = params.get(name)
    if not isinstance(raw, str):
        return raw
    stripped = raw.strip()
    if not stripped.startswith(("{", "[")):
        return raw
    try:
        return json.loads(stripped)
    except (ValueError, RecursionError):
        raise InvalidParameter(name, _("Cannot parse this as JSON.")) from None


def _unknown_field(param: str, name: str) -> InvalidParameter:
    return InvalidParameter(param, _("Field “%(field)s” is not in this resource.", field=str(name)[:100]))


def parse_filters(params: Mapping[str, Any], columns: Mapping[str, Column]) -> list[Condition]:
    """``{"field": value}`` or ``{"field": [values]}``: equal to the value, or to one of the values."""
    data = _json(params, "filters")
    if data in (None, ""):
        return []
    if not isinstance(data, dict):
        raise InvalidParameter("filters", _("Give an object of field names and values."))
    conditions = []
    for name, value in data.items():
        if name not in columns:
            raise _unknown_field("filters", name)
        if value is None:
            conditions.append(Condition(name, "isnull", True))
        elif isinstance(value, list):
            text = json.dumps(value, ensure_ascii=False)
            conditions.append(parse_condition("filters", name, "in", text, columns))
        elif isinstance(value, str | int | float):
            conditions.append(parse_condition("filters", name, "eq", _text(value), columns))
        else:
            raise InvalidParameter("filters", _("The value of “%(field)s” must be text, a number or a list.",
                                                field=name[:100]))
    return conditions


def parse_q(params: Mapping[str, Any], columns: Mapping[str, Column]) -> list[AnyContains]:
    """Text found in any text column, or ``{"field": "text"}`` found in each named field."""
    data = _json(params, "q")
    if data in (None, ""):
        return []
    if isinstance(data, dict):
        found = []
        for name, text in data.items():
            if name not in columns:
                raise _unknown_field("q", name)
            if not isinstance(text, str | int | float) or isinstance(text, bool):
                raise InvalidParameter("q", _("The text to look for in “%(field)s” must be a string.",
                                              field=name[:100]))
            if _text(text).strip():
                found.append(AnyContains((name,), _text(text).strip()))
        return found
    if not isinstance(data, str | int | float) or isinstance(data, bool):
        raise InvalidParameter("q", _("Give the text to look for, or an object of field names and texts."))
    text = _text(data).strip()
    texts = tuple(c.name for c in columns.values() if c.kind is ColumnKind.TEXT or c.pseudonymised)
    return [AnyContains(texts, text)] if text else []


def parse_fields(params: Mapping[str, Any], columns: Mapping[str, Column]) -> tuple[bool, tuple[str, ...]]:
    """Whether ``_id`` is wanted, and the columns, in the order asked (all of them by default)."""
    data = _json(params, "fields")
    if data in (None, "", []):
        return True, tuple(columns)
    names = data if isinstance(data, list) else str(data).split(",")
    wanted: list[str] = []
    for given in names:
        if not isinstance(given, str):
            raise InvalidParameter("fields", _("Give field names."))
        name = given.strip()
        if name and name != ID and name not in columns:
            raise _unknown_field("fields", name)
        if name and name not in wanted:
            wanted.append(name)
    if not wanted:
        raise InvalidParameter("fields", _("Name at least one field."))
    return ID in wanted, tuple(n for n in wanted if n != ID)


def parse_sort(params: Mapping[str, Any], columns: Mapping[str, Column]) -> tuple[SortKey, ...]:
    """``"field desc, other"`` (a name in double quotes may hold commas and spaces)."""
    raw = params.get("sort")
    if raw in (None, ""):
        return ()
    if not isinstance(raw, str):
        raise InvalidParameter("sort", _("Give the sort as text: “field desc, other”."))
    if len(raw) > MAX_SORT_TEXT:
        raise InvalidParameter("sort", _("The value is too long."))
    keys: list[SortKey] = []
    for part in re.findall(r'(?:"(?:[^"]|"")*"|[^,])+', raw):
        match = _SORT_PART.match(part)
        if match is None or not part.strip():
            continue
        quoted, plain, direction = match.groups()
        name = quoted.replace('""', '"') if quoted else plain.strip()
        if name != ID and name not in columns:
            raise _unknown_field("sort", name)
        column = ROW if name == ID else name
        if any(k.column == column for k in keys):
            continue
        keys.append(SortKey(column, (direction or "").lower() == "desc"))
        if column == ROW:
            break  # row numbers are unique: nothing after them changes the order
    return tuple(keys)


def _count(params: Mapping[str, Any], name: str, default: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameter(name, _("Invalid integer")) from None
    if value < 0:
        raise InvalidParameter(name, _("Must be a natural number"))
    return min(value, high)


def _flag(params: Mapping[str, Any], name: str, default: bool) -> bool:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise InvalidParameter(name, _("Use true or false."))


def _check_names(params: Mapping[str, Any]) -> None:
    unexpected = sorted(set(params) - PARAMS - IGNORED)
    if unexpected:
        raise InvalidParameter("__junk", _("The input field %(name)s was not expected.", name=unexpected[0][:100]))
    if _flag(params, "distinct", False):
        raise InvalidParameter("distinct", _("Distinct records are not offered; leave this out."))
    if params.get("records_format", "objects") not in ("objects", "lists"):
        raise InvalidParameter("records_format", _("Use objects or lists."))


# ---- the action -------------------------------------------------------------------------------------

def _links(params: Mapping[str, Any], offset: int, limit: int) -> dict[str, str]:
    """Addresses of the first and the next page, with every parameter (also those of a POST body)."""
    def address(values: dict[str, Any]) -> str:
        items = [(k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                 for k, v in values.items() if k not in IGNORED]
        return f"{PATH}?{urlencode(items)}" if items else PATH
    start = {k: v for k, v in params.items() if k != "offset"}
    return {"start": address(start), "next": address({**start, "offset": offset + limit})}


def _field_dicts(scope: Scope, names: tuple[str, ...], with_id: bool) -> list[dict[str, str]]:
    out = [{"id": ID, "type": "int"}] if with_id else []
    for name in names:
        column = scope.by_name[name]
        out.append({"id": name, "type": "text" if column.pseudonymised else CKAN_TYPES[column.kind]})
    return out


def search(request: Request, db: Session, settings: Settings, actor: Principal,
           params: dict[str, Any]) -> tuple[Scope, dict[str, Any]]:
    meter(request, actor)
    if "resource_id" not in params and "id" in params:  # CKAN takes ``id`` for ``resource_id``
        params = {**{k: v for k, v in params.items() if k != "id"}, "resource_id": params["id"]}
    _check_names(params)
    ref = params.get("resource_id")
    if not isinstance(ref, str) or not ref.strip():
        raise InvalidParameter("resource_id", _("Missing value"))
    entry = entry_for_resource(db, ref.strip(), settings.base_url)
    scope = access_data(db, settings, actor, entry.name, Channel.CKAN, today=china_today())
    columns = scope.by_name
    where: tuple[Filter, ...] = (*parse_filters(params, columns), *parse_q(params, columns))
    with_id, names = parse_fields(params, columns)
    limit = _count(params, "limit", DEFAULT_LIMIT, settings.api_max_page_rows)
    offset = _count(params, "offset", 0, MAX_OFFSET)
    query = RowQuery(fields=names, where=where, sort=parse_sort(params, columns), limit=limit)
    engine = engine_of(request)
    page = read_offset(engine, scope, query, offset) if limit else None
    values = page.rows if page else []
    numbers = page.numbers if page else []
    if params.get("records_format", "objects") == "lists":
        records: list[Any] = [[n + 1, *row] if with_id else list(row) for n, row in zip(numbers, values, strict=True)]
    else:
        records = [{**({ID: n + 1} if with_id else {}), **dict(zip(names, row, strict=True))}
                   for n, row in zip(numbers, values, strict=True)]
    include_total = _flag(params, "include_total", True)
    total = count_rows(engine, scope, where) if include_total else None
    links = _links(params, offset, limit)
    last = len(records) < limit or limit == 0 or (total is not None and offset + len(records) >= total)
    result: dict[str, Any] = {
        "include_total": include_total, "resource_id": ref.strip(),
        "fields": _field_dicts(scope, names, with_id), "records_format": params.get("records_format", "objects"),
        "records": records, "limit": limit, "offset": offset, "_links": links,
        "next_page": None if last else f"{settings.base_url.rstrip('/')}{links['next']}",
        "total_was_estimated": False,
    }
    if include_total:
        result["total"] = total
    for echoed in ("filters", "q", "sort"):
        if params.get(echoed) not in (None, ""):
            result[echoed] = params[echoed]
    return scope, result


def datastore_search(request: Request, db: Session, settings: Settings, actor: Principal,
                     params: dict[str, Any], help_url: str) -> Response:
    """The whole action: searched, logged (with the SHA-256 of the bytes sent), answered."""
    scope, result = search(request, db, settings, actor, params)
    body = orjson.dumps({"help": help_url, "success": True, "result": result}, option=orjson.OPT_NON_STR_KEYS)
    summary = {"query": [[k, (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))[:500]]
                         for k, v in params.items()][:40]}
    record_access(request, db, scope, Access(who(request, actor), scope.entry_id, scope.version.id, Channel.CKAN,
                                             "rows", scope.grant_id, "json", summary, rows=len(result["records"])),
                  body)
    return Response(body, media_type="application/json", headers=getattr(request.state, "rate_headers", {}))
