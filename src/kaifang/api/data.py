"""The data API: fields, rows, aggregates and downloads of a dataset's published version.

Every route goes through ``access_data`` (who may read which columns and rows), counts against the
caller's rate and quota, and logs what it served. Filters are query parameters
``column__operator=value`` (see ``kaifang.access.query``); they are not listed one by one in the
OpenAPI description because their names are the dataset's columns.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlencode

import orjson
import pyarrow as pa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kaifang.access import log as access_log
from kaifang.access.columns import Column
from kaifang.access.cursor import Sealed, unseal
from kaifang.access.downloads import arrow_schema, logged_stream, open_download, parse_download
from kaifang.access.exports import Format, csv_stream
from kaifang.access.log import Access
from kaifang.access.models import Channel
from kaifang.access.query import parse_aggregate, parse_rows
from kaifang.access.reads import AggregatePage, RowsPage, count_rows, read_aggregate, read_rows
from kaifang.access.scope import Scope, access_data, still_serving
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import china_today
from kaifang.config import Settings
from kaifang.errors import InvalidParameter
from kaifang.http.access import PUBLIC
from kaifang.http.cache import Answer, answer_cache_of
from kaifang.http.data import ClosingStreamingResponse, engine_of, meter, record_access, who
from kaifang.http.deps import get_db, get_settings, settings_of
from kaifang.i18n import _

router = APIRouter(prefix="/datasets/{name}", tags=["data"])


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: dict[str, list[str]] | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "A parameter is wrong; `fields` names it."},
    401: {"model": ErrorOut, "description": "The jurisdiction opens this data after identity verification: log in."},
    403: {"model": ErrorOut, "description": "Conditional data without a grant in force, or a mode not offered."},
    404: {"model": ErrorOut, "description": "No such public dataset, or no published version yet."},
    410: {"model": ErrorOut, "description": "The version a page token reads is no longer served."},
    429: {"model": ErrorOut, "description": "Rate limit or daily quota passed; see `Retry-After`."},
}


class FieldOut(BaseModel):
    name: str
    title: str
    type: str = Field(description="text, integer, number, date, datetime or boolean")


class FieldsOut(BaseModel):
    dataset: str
    version: int
    rows: int = Field(description="Rows you may read (all of them for open data; your grant's for conditional).")
    fields: list[FieldOut]
    downloads: list[str]


class RowsOut(BaseModel):
    dataset: str
    version: int
    fields: list[FieldOut]
    rows: list[dict[str, Any]]
    total: int | None = Field(description="Rows matching the filters, when asked for with total=true.")
    next: str | None = Field(description="Token of the next page; null on the last page.")
    next_url: str | None


class AggregateOut(BaseModel):
    dataset: str
    version: int
    group_by: list[str]
    measures: list[str]
    rows: list[dict[str, Any]]
    truncated: bool = Field(description="More groups exist than `limit`.")


def _query(name: str, description: str, schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "query", "required": False, "description": description,
                             "schema": schema}
    if example is not None:
        param["example"] = example
    return param


FILTERS = ("Filters: any other parameter `column__operator=value`, operators eq, ne, lt, lte, gt, gte, in "
           "(comma-separated or a JSON array), contains, startswith (text), isnull (true/false); a bare "
           "`column=value` is eq. Several filters all apply.")
ROWS_PARAMS = [
    _query("fields", "Columns to return, comma-separated (default: all you may read).", {"type": "string"},
           "所在区,企业名称"),
    _query("sort", "Sort columns, comma-separated; `-column` for descending. Empty values come last.",
           {"type": "string"}, "-注册资本"),
    _query("limit", "Rows per page (default 100; the platform's maximum, 1000 by default).",
           {"type": "integer", "minimum": 1}, 100),
    _query("next", "The `next` token of the previous page (keyset paging: every row exactly once).",
           {"type": "string"}),
    _query("total", "Also count the rows matching the filters (exact; cached per version).",
           {"type": "boolean"}, True),
    _query("format", "json (default) or csv.", {"type": "string", "enum": ["json", "csv"]}),
]
AGGREGATE_PARAMS = [
    _query("group_by", "Columns to group by, comma-separated (none: one row over everything).",
           {"type": "string"}, "所在区"),
    _query("measures", "count, sum:column, avg:column, min:column, max:column, comma-separated (default count).",
           {"type": "string"}, "count,avg:注册资本"),
    _query("sort", "Group columns or measures (`count`, `sum:column`…); `-` for descending.", {"type": "string"},
           "-count"),
    _query("limit", "Most groups returned (default and maximum set by the platform).",
           {"type": "integer", "minimum": 1}, 100),
]
DOWNLOAD_PARAMS = [
    _query("fields", "Columns to include, comma-separated (default: all you may read).", {"type": "string"}),
    _query("sort", "Sort columns; `-column` for descending (default: the file's order).", {"type": "string"}),
    _query("bom", "CSV only: start with a byte-order mark, so Excel reads UTF-8.", {"type": "boolean"}),
    _query("encoding", "CSV only: utf-8 (default), gbk, or gb18030 (GBK's lossless superset).",
           {"type": "string", "enum": ["utf-8", "gbk", "gb18030"]}),
]


def _params(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def _scope(request: Request, db: Session, settings: Settings, actor: Principal, name: str, channel: Channel,
           version_id: str | None = None) -> Scope:
    meter(request, actor)
    return access_data(db, settings, actor, name, channel, today=china_today(), version_id=version_id)


def _json(data: Any, request: Request, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return Response(body, status, media_type="application/json",
                    headers={**getattr(request.state, "rate_headers", {}), **(headers or {})})


def field_dicts(columns: tuple[Column, ...] | list[Column]) -> list[dict[str, str]]:
    return [{"name": c.name, "title": c.title, "type": "text" if c.pseudonymised else c.kind.value} for c in columns]


def _downloads(scope: Scope) -> list[str]:
    return [f.value for f in Format if f is not Format.GEOJSON or scope.geo is not None]


@router.get("/fields", response_model=FieldsOut, responses=ERRORS, summary="Columns of a dataset's current version")
def fields(name: str, request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db),
           settings: Settings = Depends(get_settings)) -> Response:
    scope = _scope(request, db, settings, actor, name, Channel.API)
    rows = scope.version.rows if not scope.conditional else count_rows(engine_of(request), scope, ())
    return _json({"dataset": scope.entry_name, "version": scope.version_number, "rows": rows,
                  "fields": field_dicts(scope.columns), "downloads": _downloads(scope)}, request)


def page_url(request: Request, token: str | None) -> str | None:
    if token is None:
        return None
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "next"] + [("next", token)]
    return f"{str(request.url).split('?', 1)[0]}?{urlencode(params)}"


def rows_body(scope: Scope, page: RowsPage, request: Request) -> dict[str, Any]:
    return {"dataset": scope.entry_name, "version": page.version_number, "fields": field_dicts(page.fields),
            "rows": page.records(), "total": page.total, "next": page.next_token,
            "next_url": page_url(request, page.next_token)}


def rows_scope(request: Request, db: Session, settings: Settings, actor: Principal, name: str,
               channel: Channel) -> tuple[Scope, Sealed | None]:
    """The gate for a page of rows: the scope, pinned to the version of a ``next`` token if any."""
    token = next((v for k, v in _params(request) if k == "next" and v.strip()), None)
    sealed = unseal(settings.secret_key, token.strip()) if token else None
    return _scope(request, db, settings, actor, name, channel, sealed.version_id if sealed else None), sealed


def read_page(request: Request, settings: Settings, scope: Scope, sealed: Sealed | None) -> RowsPage:
    query = parse_rows(_params(request), scope.by_name, default_limit=settings.api_page_rows,
                       max_limit=settings.api_max_page_rows)
    return read_rows(engine_of(request), settings.secret_key, scope, query, sealed)


def _cache_key(kind: str, scope: Scope, request: Request) -> tuple[object, ...]:
    return (kind, scope.version.id, scope.key, str(request.base_url), tuple(request.query_params.multi_items()))


def cached(request: Request, db: Session, scope: Scope, kind: str, access: Access) -> Response | None:
    """The answer already computed for this very query of open data, logged as served again."""
    cache = answer_cache_of(request)
    if scope.conditional or cache is None:
        return None
    answer = cache.get(_cache_key(kind, scope, request))
    if answer is None:
        return None
    access.rows = answer.rows
    record_access(request, db, scope, access, answer.body, answer.sha256)
    return Response(answer.body, media_type=answer.media_type,
                    headers={**getattr(request.state, "rate_headers", {}), **answer.headers})


def answer(request: Request, db: Session, scope: Scope, kind: str, access: Access, body: bytes, media_type: str,
           headers: dict[str, str]) -> Response:
    """Logs and sends an answer (kept for the next caller when it is about open data)."""
    digest = hashlib.sha256(body).hexdigest()
    record_access(request, db, scope, access, body, digest)
    cache = answer_cache_of(request)
    if not scope.conditional and cache is not None:
        cache.put(_cache_key(kind, scope, request), Answer(body, digest, access.rows, media_type, headers))
    return Response(body, media_type=media_type, headers={**getattr(request.state, "rate_headers", {}), **headers})


def rows_access(request: Request, actor: Principal, scope: Scope, channel: Channel, fmt: str) -> Access:
    summary = {"query": [[k, v] for k, v in _params(request) if k != "next"][:40],
               "page": "next" in request.query_params}
    return Access(who(request, actor), scope.entry_id, scope.version.id, channel, "rows", scope.grant_id, fmt,
                  summary)


def answers_on_the_loop(settings: Settings) -> bool:
    """Whether an answer kept in memory is sent without a trip through the thread pool.

    That trip (and the handing of the interpreter lock between threads) costs more than the rest
    of a cached answer. It is taken only when everything before the cache is local and quick: the
    gate's one indexed read of an SQLite file, rate counts in this process's memory, and an access
    log queued for the background writer. On PostgreSQL or Redis those are network round trips and
    run in the pool, like every other call to them."""
    return settings.is_sqlite and not settings.redis_url and settings.access_log_flush_seconds > 0


def _rows_answer(request: Request, db: Session, settings: Settings, actor: Principal, name: str, fmt: str,
                 gate: tuple[Scope, Sealed | None] | None = None) -> Response:
    scope, sealed = gate or rows_scope(request, db, settings, actor, name, Channel.API)
    access = rows_access(request, actor, scope, Channel.API, fmt)
    hit = cached(request, db, scope, "rows", access) if gate is None else None
    if hit is not None:
        return hit
    page = read_page(request, settings, scope, sealed)
    access.rows = len(page.rows)
    headers = {"X-Kaifang-Version": str(page.version_number)}
    if page.next_token:
        headers["Link"] = f'<{page_url(request, page.next_token)}>; rel="next"'
    if fmt == "csv":
        body = b"".join(csv_stream(iter([_batch(scope, page)]), [c.name for c in page.fields], bom=True))
        return answer(request, db, scope, "rows", access, body, "text/csv; charset=utf-8", headers)
    body = orjson.dumps(rows_body(scope, page, request), option=orjson.OPT_NON_STR_KEYS)
    return answer(request, db, scope, "rows", access, body, "application/json", headers)


@router.get("/rows", response_model=RowsOut, summary="Rows of a dataset, filtered, sorted, paged",
            responses={**ERRORS, 200: {"content": {"text/csv": {}}, "description": "A page of rows (JSON or CSV)."}},
            description=FILTERS, openapi_extra={"parameters": ROWS_PARAMS})
async def rows(name: str, request: Request, actor: Principal = Depends(PUBLIC),
               db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)  # not a dependency: each one costs the busiest route time
    fmt = request.query_params.get("format", "json").lower()
    if fmt not in ("json", "csv"):
        raise InvalidParameter("format", _("Use json or csv."))
    gate = None
    if answers_on_the_loop(settings):
        gate = rows_scope(request, db, settings, actor, name, Channel.API)
        if not gate[0].conditional:
            hit = cached(request, db, gate[0], "rows", rows_access(request, actor, gate[0], Channel.API, fmt))
            if hit is not None:
                return hit
    return await run_in_threadpool(_rows_answer, request, db, settings, actor, name, fmt, gate)


def _batch(scope: Scope, page: RowsPage) -> pa.RecordBatch:
    schema = arrow_schema(scope, [c.name for c in page.fields])
    columns = [pa.array([row[i] for row in page.rows], type=field.type) for i, field in enumerate(schema)]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def aggregate_body(scope: Scope, page: AggregatePage, measures: list[str], group_by: list[str]) -> dict[str, Any]:
    return {"dataset": scope.entry_name, "version": page.version_number, "group_by": group_by,
            "measures": measures, "rows": [dict(zip(page.columns, row, strict=True)) for row in page.rows],
            "truncated": page.truncated}


def aggregate_data(request: Request, settings: Settings, scope: Scope) -> dict[str, Any]:
    query = parse_aggregate(_params(request), scope.by_name, default_limit=settings.api_max_groups,
                            max_limit=settings.api_max_groups)
    page = read_aggregate(engine_of(request), scope, query)
    return aggregate_body(scope, page, [m.label for m in query.measures], list(query.group_by))


def _aggregate_answer(request: Request, db: Session, settings: Settings, actor: Principal, name: str,
                      scope: Scope | None = None) -> Response:
    fresh = scope is None
    scope = scope or _scope(request, db, settings, actor, name, Channel.API)
    access = _aggregate_access(request, actor, scope)
    hit = cached(request, db, scope, "aggregate", access) if fresh else None
    if hit is not None:
        return hit
    data = aggregate_data(request, settings, scope)
    access.rows = len(data["rows"])
    body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return answer(request, db, scope, "aggregate", access, body, "application/json",
                  {"X-Kaifang-Version": str(data["version"])})


def _aggregate_access(request: Request, actor: Principal, scope: Scope) -> Access:
    return Access(who(request, actor), scope.entry_id, scope.version.id, Channel.API, "aggregate", scope.grant_id,
                  "json", {"query": [[k, v] for k, v in _params(request)][:40]})


@router.get("/aggregate", response_model=AggregateOut, responses=ERRORS, summary="Group and count, sum, average…",
            description=FILTERS, openapi_extra={"parameters": AGGREGATE_PARAMS})
async def aggregate(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                    db: Session = Depends(get_db)) -> Response:
    settings = settings_of(request)
    scope = None
    if answers_on_the_loop(settings):
        scope = _scope(request, db, settings, actor, name, Channel.API)
        if not scope.conditional:
            hit = cached(request, db, scope, "aggregate", _aggregate_access(request, actor, scope))
            if hit is not None:
                return hit
    return await run_in_threadpool(_aggregate_answer, request, db, settings, actor, name, scope)


def start_download(request: Request, db: Session, settings: Settings, actor: Principal, name: str,
                   fmt: str) -> StreamingResponse:
    """Checks, logs the start (committed before any byte leaves) and streams a download."""
    scope = _scope(request, db, settings, actor, name, Channel.DOWNLOAD)
    wanted = parse_download(fmt, _params(request), scope)
    engine = engine_of(request)
    download = open_download(engine, scope, wanted, engine.folder / "exports")
    access = Access(who(request, actor), scope.entry_id, scope.version.id, Channel.DOWNLOAD, "download",
                    scope.grant_id, wanted.format.value, wanted.summary(), complete=False)
    log_id = access_log.write_now(db, access)
    db.commit()
    factory = request.app.state.session_factory
    grant_id, entry_id = scope.grant_id, scope.entry_id
    stream = logged_stream(download, factory, log_id, access,
                           lambda session: still_serving(session, entry_id, grant_id, china_today()))
    disposition = f"attachment; filename=\"{download.file_name}\""
    headers = {**getattr(request.state, "rate_headers", {}), "Content-Disposition": disposition,
               "X-Kaifang-Version": str(scope.version_number), "X-Kaifang-Access-Log": str(log_id),
               "Cache-Control": "no-store" if scope.conditional else "private, max-age=0"}
    return ClosingStreamingResponse(stream, media_type=download.media_type, headers=headers)


@router.get("/download.{fmt}", responses={**ERRORS, 200: {"content": {
    "text/csv": {}, "application/json": {}, "application/geo+json": {}, "application/vnd.apache.parquet": {},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}, "description": "The file, streamed."}},
    summary="Download the current version (csv, xlsx, json, parquet, geojson)", description=FILTERS,
    openapi_extra={"parameters": DOWNLOAD_PARAMS})
def download(name: str, fmt: str, request: Request, actor: Principal = Depends(PUBLIC),
             db: Session = Depends(get_db), settings: Settings = Depends(get_settings)) -> StreamingResponse:
    return start_download(request, db, settings, actor, name, fmt)
