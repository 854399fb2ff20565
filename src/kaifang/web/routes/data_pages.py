"""Pages of a dataset's data: the data section of the dataset page (current version, downloads,
API links, preview and chart builder), the preview table and the chart's numbers.

Every read goes through ``access_data`` like the API does, counts against the caller's rate and is
written to the access log (channels ``preview`` and ``chart``). The preview is an htmx partial and
the same address renders a full page, so filtering, sorting and paging work without JavaScript;
charts need it (Apache ECharts, fetched only when a chart is drawn).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.access.columns import Column, ColumnKind
from kaifang.access.cursor import unseal
from kaifang.access.exports import XLSX_MAX_ROWS
from kaifang.access.log import Access
from kaifang.access.models import Channel
from kaifang.access.query import (
    NUMERIC,
    OPERATORS,
    ORDER_OPERATORS,
    TEXT_OPERATORS,
    AggregateQuery,
    parse_aggregate,
    parse_rows,
)
from kaifang.access.reads import AggregatePage, RowsPage, count_rows, read_aggregate, read_rows
from kaifang.access.scope import Scope, access_data
from kaifang.auth.permissions import Principal
from kaifang.cases.clocks import china_today
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import public_clause
from kaifang.catalog.vocab import OpenType
from kaifang.config import Settings
from kaifang.datasets.models import DatasetVersion
from kaifang.errors import Forbidden, Gone, InvalidParameter, KaifangError, NotAuthenticated, NotFound, RateLimited
from kaifang.http.access import PUBLIC
from kaifang.http.data import engine_of, meter, record_access, who
from kaifang.http.deps import get_db, get_settings
from kaifang.i18n import N_, _
from kaifang.policy.profiles import load_profile
from kaifang.web.templating import render

router = APIRouter()

PAGE_SIZES = (20, 50, 100)
MAX_TRAIL = 20
"""Page tokens kept for "previous page"; further back, "first page" still works."""
MAX_FILTER_ROWS = 10
CHART_GROUPS = 50
"""Groups drawn, the largest by the measure; the rest are summed up and noted."""
ECHARTS = "/static/vendor/echarts-6.1.0.min.js"
CHART_TYPES = {"bar": N_("Bar"), "line": N_("Line"), "pie": N_("Pie")}
MEASURE_TITLES = {"sum": N_("Sum of %(column)s"), "avg": N_("Average of %(column)s"),
                  "min": N_("Minimum of %(column)s"), "max": N_("Maximum of %(column)s")}
MEASURE_GROUPS = {"sum": N_("Sum"), "avg": N_("Average"), "min": N_("Minimum"), "max": N_("Maximum")}


# ---- what was typed ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FilterRow:
    """One filter as typed, kept as typed, with the message when it is wrong."""

    index: int
    column: str
    op: str = "eq"
    value: str = ""
    error: str = ""

    @property
    def param(self) -> str:
        return f"{self.column}__{self.op}"

    @property
    def active(self) -> bool:
        return bool(self.column) and (self.op == "isnull" or self.value.strip() != "")

    @property
    def query_value(self) -> str:
        # "is empty" needs no value: a blank one means yes.
        return (self.value.strip() or "true") if self.op == "isnull" else self.value


def typed_filters(request: Request) -> list[FilterRow]:
    """The filled-in filter rows of a form (``fc``, ``fo``, ``fv`` side by side); blank ones are
    left out but keep their position in ``index``."""
    q = request.query_params
    columns, ops, values = q.getlist("fc"), q.getlist("fo"), q.getlist("fv")
    rows = [FilterRow(i, column.strip(), (ops[i] if i < len(ops) else "").strip() or "eq",
                      values[i] if i < len(values) else "")
            for i, column in enumerate(columns[:MAX_FILTER_ROWS])]
    return [row for row in rows if row.active]


def filter_params(rows: Sequence[FilterRow]) -> list[tuple[str, str]]:
    return [(row.param, row.query_value) for row in rows]


def _int(text: str | None, default: int) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default


@dataclass(frozen=True)
class PreviewState:
    """Everything the preview's address holds: filters, sort, page size and where paging is."""

    filters: tuple[FilterRow, ...] = ()
    sort: str = ""
    limit: int = PAGE_SIZES[0]
    token: str | None = None
    trail: tuple[str, ...] = ()
    page: int = 1

    @classmethod
    def of(cls, request: Request) -> PreviewState:
        q = request.query_params
        limit = _int(q.get("limit"), PAGE_SIZES[0])
        token = (q.get("next") or "").strip() or None
        trail = tuple(t.strip() for t in q.getlist("trail") if t.strip())[-MAX_TRAIL:]
        page = max(2, _int(q.get("page"), len(trail) + 2)) if token else 1
        return cls(tuple(typed_filters(request)), (q.get("sort") or "").strip(),
                   limit if limit in PAGE_SIZES else PAGE_SIZES[0], token, trail, page)

    def params(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for row in self.filters:
            out += [("fc", row.column), ("fo", row.op), ("fv", row.value)]
        if self.sort:
            out.append(("sort", self.sort))
        if self.limit != PAGE_SIZES[0]:
            out.append(("limit", str(self.limit)))
        if self.token:
            out += [("next", self.token), ("page", str(self.page))] + [("trail", t) for t in self.trail]
        return out

    def api_params(self) -> list[tuple[str, str]]:
        """The same request in the data API's terms (``kaifang.access.query``)."""
        out = [*filter_params(self.filters), ("limit", str(self.limit)), ("total", "true")]
        if self.sort:
            out.append(("sort", self.sort))
        if self.token:
            out.append(("next", self.token))
        return out

    def first(self) -> PreviewState:
        return replace(self, token=None, trail=(), page=1)

    def following(self, token: str) -> PreviewState:
        trail = (*self.trail, self.token)[-MAX_TRAIL:] if self.token else self.trail
        return replace(self, token=token, trail=trail, page=self.page + 1)

    def previous(self) -> PreviewState | None:
        if self.trail:
            return replace(self, token=self.trail[-1], trail=self.trail[:-1], page=self.page - 1)
        return self.first() if self.page == 2 else None

    def sorted_by(self, column: str) -> PreviewState:
        return replace(self.first(), sort=f"-{column}" if self.sort == column else column)

    def without(self, index: int) -> PreviewState:
        return replace(self.first(), filters=tuple(f for i, f in enumerate(self.filters) if i != index))

    def flagged(self, exc: InvalidParameter) -> tuple[PreviewState, str]:
        """The state with the message next to the filter it is about (or apart, if none is)."""
        rows = list(self.filters)
        for i, row in enumerate(rows):
            if row.param == exc.parameter:
                rows[i] = replace(row, error=exc.message)
                return replace(self, filters=tuple(rows)), ""
        return self, exc.message


# ---- shared pieces ----------------------------------------------------------------------------

def _access(db: Session, settings: Settings, actor: Principal, name: str, channel: Channel,
            version_id: str | None = None) -> Scope:
    return access_data(db, settings, actor, name, channel, today=china_today(), version_id=version_id)


def _allows(db: Session, settings: Settings, actor: Principal, name: str, channel: Channel) -> Scope | None:
    try:
        return _access(db, settings, actor, name, channel)
    except KaifangError:
        return None


def _label(column: Column) -> str:
    return column.title if column.title and column.title != column.name else column.name


def operators_for(column: Column) -> list[str]:
    kind = ColumnKind.TEXT if column.pseudonymised else column.kind
    return [op for op in OPERATORS if not (op in TEXT_OPERATORS and kind is not ColumnKind.TEXT)
            and not (op in ORDER_OPERATORS and kind is ColumnKind.BOOLEAN)]


def column_views(columns: Sequence[Column]) -> list[dict[str, Any]]:
    return [{"name": c.name, "label": _label(c), "title": c.title, "pseudonymised": c.pseudonymised,
             "number": c.kind in NUMERIC and not c.pseudonymised, "ops": operators_for(c)} for c in columns]


def operator_options() -> list[tuple[str, str]]:
    return [(key, _(label)) for key, label in OPERATORS.items()]


def _log(request: Request, db: Session, actor: Principal, scope: Scope, action: str, fmt: str,
         params: dict[str, Any], rows: int, body: bytes) -> None:
    record_access(request, db, scope, Access(who(request, actor), scope.entry_id, scope.version.id, scope.channel,
                                             action, scope.grant_id, fmt, params, rows=rows), body)


def _headers(request: Request, scope: Scope) -> dict[str, str]:
    return {**getattr(request.state, "rate_headers", {}), "Vary": "HX-Request",
            "Cache-Control": "no-store" if scope.conditional else "private, max-age=0"}


# ---- the data section of the dataset page -----------------------------------------------------

def _is_public(db: Session, entry: CatalogEntry) -> bool:
    return db.scalar(select(CatalogEntry.id).where(public_clause(), CatalogEntry.id == entry.id)) is not None


def _refusal(settings: Settings, actor: Principal, entry: CatalogEntry) -> str:
    if entry.open_type == OpenType.CONDITIONAL:
        return "conditional"
    if load_profile(settings.jurisdiction).unconditional_requires_verification and not actor.is_verified:
        return "verify"
    return "refused"


def downloads_of(name: str, scope: Scope, rows: int) -> list[dict[str, str]]:
    base = f"/api/v1/datasets/{name}/download"
    offered = [
        ("csv", "CSV", "", N_("UTF-8")),
        ("csv-excel", N_("CSV for Excel"), "?bom=true", N_("UTF-8 with a byte-order mark")),
        ("csv-gbk", N_("CSV (GBK)"), "?encoding=gbk", N_("For older Chinese software")),
        ("xlsx", "XLSX", "", ""), ("json", "JSON", "", ""), ("parquet", "Parquet", "", ""),
        ("geojson", "GeoJSON", "", N_("Positions as map features")),
    ]
    links = []
    for key, label, query, hint in offered:
        if (key == "geojson" and scope.geo is None) or (key == "xlsx" and rows > XLSX_MAX_ROWS):
            continue  # no positions; more rows than a sheet holds
        fmt = key.split("-")[0]
        links.append({"key": key, "label": _(label), "hint": _(hint) if hint else "",
                      "href": f"{base}.{fmt}{query}"})
    return links


def _default_group(version: DatasetVersion, columns: Sequence[Column]) -> str:
    """The column a first chart groups by: the one with the fewest distinct values above one."""
    distinct = {c.get("name"): c.get("distinct", 0) for c in (version.profile or {}).get("columns", [])}
    candidates = [(distinct[c.name], c.name) for c in columns
                  if not c.pseudonymised and c.kind is not ColumnKind.NUMBER and distinct.get(c.name, 0) > 1]
    return min(candidates)[1] if candidates else columns[0].name


def chart_context(name: str, scope: Scope, version: DatasetVersion) -> dict[str, Any]:
    numbers = [c for c in scope.columns if c.kind in NUMERIC and not c.pseudonymised]
    measures = [(_(title), [(f"{fn}:{c.name}", _label(c)) for c in numbers])
                for fn, title in MEASURE_GROUPS.items()] if numbers else []
    labels = {"loading": _("Drawing the chart…"), "failed": _("The chart could not be drawn. Try again."),
              "fix": _("Correct the marked choices and draw again."), "empty": _("Nothing to draw.")}
    return {"endpoint": f"/datasets/{name}/chart-data", "echarts": ECHARTS, "columns": column_views(scope.columns),
            "group": _default_group(version, scope.columns), "measures": measures, "operators": operator_options(),
            "types": [(key, _(label)) for key, label in CHART_TYPES.items()],
            "labels": orjson.dumps(labels).decode()}


def _open_panel(request: Request, db: Session, settings: Settings, actor: Principal, entry: CatalogEntry,
                scope: Scope) -> dict[str, Any]:
    version = db.get(DatasetVersion, scope.version.id)
    assert version is not None
    rows = count_rows(engine_of(request), scope, ()) if scope.conditional else scope.version.rows
    download = _allows(db, settings, actor, entry.name, Channel.DOWNLOAD)
    api = _allows(db, settings, actor, entry.name, Channel.API)
    return {"state": "open", "version": scope.version_number, "rows": rows, "published_at": version.published_at,
            "conditional": scope.conditional, "pseudonyms": any(c.pseudonymised for c in scope.columns),
            "downloads": downloads_of(entry.name, download, rows) if download else [],
            "api": f"/api/v1/datasets/{entry.name}" if api else "",
            "preview_url": f"/datasets/{entry.name}/preview", "chart": chart_context(entry.name, scope, version)}


def panel_context(request: Request, db: Session, actor: Principal, entry: CatalogEntry) -> dict[str, Any]:
    """What this module's panel on the dataset page needs (merged into the page's context).

    Non-open entries, and entries the public does not see, have no data section at all; a
    refusal shows why and what to do, and nothing of the data (not even how many rows)."""
    if entry.open_type == OpenType.NON_OPEN or not _is_public(db, entry):
        return {}
    settings: Settings = request.app.state.settings
    try:
        scope = _access(db, settings, actor, entry.name, Channel.PREVIEW)
    except NotFound as exc:
        return {"data_panel": {"state": "no_version", "message": exc.message}}
    except NotAuthenticated as exc:
        return {"data_panel": {"state": "login", "message": exc.message}}
    except Forbidden as exc:
        return {"data_panel": {"state": _refusal(settings, actor, entry), "message": exc.message}}
    return {"data_panel": _open_panel(request, db, settings, actor, entry, scope)}


# ---- the preview ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Loaded:
    scope: Scope
    page: RowsPage | None
    """None when a filter is wrong: nothing was read."""
    state: PreviewState
    notice: str = ""


def _read(request: Request, db: Session, settings: Settings, actor: Principal, name: str,
          state: PreviewState) -> Loaded:
    sealed = unseal(settings.secret_key, state.token) if state.token else None
    scope = _access(db, settings, actor, name, Channel.PREVIEW, sealed.version_id if sealed else None)
    try:
        query = parse_rows(state.api_params(), scope.by_name, default_limit=state.limit,
                           max_limit=max(PAGE_SIZES))
    except InvalidParameter as exc:
        flagged, general = state.flagged(exc)
        return Loaded(scope, None, flagged, general)
    return Loaded(scope, read_rows(engine_of(request), settings.secret_key, scope, query, sealed), state)


def load_preview(request: Request, db: Session, settings: Settings, actor: Principal, name: str,
                 state: PreviewState) -> Loaded:
    """A page of the preview; a page token that no longer fits (another query, a version no
    longer served) starts again from the first page, saying so."""
    try:
        return _read(request, db, settings, actor, name, state)
    except (Gone, InvalidParameter) as exc:
        if not state.token or (isinstance(exc, InvalidParameter) and exc.parameter != "next"):
            raise
        return replace(_read(request, db, settings, actor, name, state.first()), notice=exc.message)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _url(base: str, state: PreviewState | None) -> str:
    if state is None:
        return ""
    query = urlencode(state.params())
    return f"{base}?{query}" if query else base


def preview_context(request: Request, loaded: Loaded) -> dict[str, Any]:
    scope, page, state = loaded.scope, loaded.page, loaded.state
    base = f"/datasets/{scope.entry_name}/preview"
    first_sort = state.sort.split(",")[0].strip()
    columns = column_views(scope.columns)
    for view in columns:
        view["sort"] = ("desc" if first_sort == f"-{view['name']}" else "asc" if first_sort == view["name"]
                        else "")
        view["sort_url"] = _url(base, state.sorted_by(view["name"]))
    filters = [{"column": f.column, "op": f.op, "value": f.value, "error": f.error,
                "remove_url": _url(base, state.without(i))} for i, f in enumerate(state.filters)]
    filters.append({"column": columns[0]["name"] if columns else "", "op": "eq", "value": "", "error": "",
                    "remove_url": ""})
    shown = page.fields if page else ()
    current = urlsplit(request.headers.get("hx-current-url", "")).path
    return {
        "scope": scope, "page": page, "state": state, "notice": loaded.notice, "base": base,
        "columns": columns, "filters": filters, "operators": operator_options(), "page_sizes": PAGE_SIZES,
        "rows": [[_cell(v) for v in row] for row in page.rows] if page else [],
        "numbers": [c.kind in NUMERIC and not c.pseudonymised for c in shown],
        "total": f"{page.total or 0:,}" if page else "",
        "first_url": _url(base, state.first()) if state.page > 1 else "",
        "previous_url": _url(base, state.previous()),
        "next_url": _url(base, state.following(page.next_token)) if page and page.next_token else "",
        "clear_url": _url(base, PreviewState(sort=state.sort, limit=state.limit)),
        "full_url": _url(base, state), "embedded": bool(current) and current != base,
    }


def _refused_partial(request: Request, name: str, exc: KaifangError) -> Response:
    response = render(request, "data/_refused.html", {"message": exc.message, "entry_name": name,
                                                       "login": isinstance(exc, NotAuthenticated)}, exc.status_code)
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@router.get("/datasets/{name}/preview", response_class=HTMLResponse)
def preview(name: str, request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db),
            settings: Settings = Depends(get_settings)) -> Response:
    """A page of rows: the htmx partial, or the full page at the same address."""
    partial = request.headers.get("hx-request") == "true"
    try:
        meter(request, actor)
        loaded = load_preview(request, db, settings, actor, name, PreviewState.of(request))
    except KaifangError as exc:
        if not partial:
            raise
        return _refused_partial(request, name, exc)
    context = preview_context(request, loaded)
    if not partial:
        context["entry"] = db.get(CatalogEntry, loaded.scope.entry_id)
    page = loaded.page
    response = render(request, "data/_preview.html" if partial else "data/preview.html", context,
                      200 if page is not None else 400)
    response.headers.update(_headers(request, loaded.scope))
    if page is not None:
        params = {"query": [list(p) for p in loaded.state.api_params() if p[0] != "next"][:40],
                  "page": loaded.state.page}
        _log(request, db, actor, loaded.scope, "rows", "html", params, len(page.rows), bytes(response.body))
    return response


# ---- chart data -------------------------------------------------------------------------------

def chart_query(request: Request, scope: Scope, filters: Sequence[FilterRow], settings: Settings) -> AggregateQuery:
    """One group-by column and one measure of numbers: the largest groups first, or for a line
    the groups in their own order (dates, years, numbers)."""
    q = request.query_params
    group = (q.get("group_by") or "").strip()
    if not group or "," in group:
        raise InvalidParameter("group_by", _("Choose one column to group by."))
    measure = (q.get("measure") or "count").strip()
    if "," in measure:
        raise InvalidParameter("measure", _("Choose one measure."))
    label = "count" if measure.lower() == "count" else measure
    order = group if chart_type(request) == "line" else f"-{label},{group}"
    params = [("group_by", group), ("measures", measure), ("sort", order),
              ("limit", str(settings.api_max_groups)), *filter_params(filters)]
    try:
        query = parse_aggregate(params, scope.by_name, default_limit=settings.api_max_groups,
                                max_limit=settings.api_max_groups)
    except InvalidParameter as exc:
        if exc.parameter in ("measures", "sort"):
            raise InvalidParameter("measure", exc.message) from None
        raise
    column = query.measures[0].column
    if column is not None and (scope.by_name[column].pseudonymised or scope.by_name[column].kind not in NUMERIC):
        raise InvalidParameter("measure", _("A chart needs numbers: count the rows, or choose a number column."))
    return query


def chart_type(request: Request) -> str:
    chosen = (request.query_params.get("type") or "").strip()
    return chosen if chosen in CHART_TYPES else "bar"


def _number(value: Any) -> float | int | None:
    if value is None or isinstance(value, int | float):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    return None


def _shown(value: float | int) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}".rstrip("0").rstrip(".")


def _group_name(value: Any) -> str:
    if value is None or value == "":
        return _("(no value)")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _measure_title(query: AggregateQuery, scope: Scope) -> str:
    measure = query.measures[0]
    if measure.column is None:
        return _("Number of rows")
    return _(MEASURE_TITLES[measure.function], column=_label(scope.by_name[measure.column]))


# What the note says when not every group is drawn: the largest ones (bar, pie) or the first
# ones in order (line); with the rest summed up when the measure adds up.
NOTES = {
    ("largest", "more"): N_("Only the %(shown)s largest groups are shown; there are more than %(groups)s."),
    ("largest", "others"): N_("Only the %(shown)s largest of %(groups)s groups are shown; the other %(rest)s "
                              "together: %(others)s."),
    ("largest", "rest"): N_("Only the %(shown)s largest of %(groups)s groups are shown."),
    ("first", "more"): N_("Only the first %(shown)s groups in order are shown; there are more than %(groups)s."),
    ("first", "others"): N_("Only the first %(shown)s of %(groups)s groups in order are shown; the other %(rest)s "
                            "together: %(others)s."),
    ("first", "rest"): N_("Only the first %(shown)s of %(groups)s groups in order are shown."),
}


def _chart_note(in_order: bool, shown: int, groups: int, more: bool, others: float | int | None) -> str:
    if groups == 0:
        return _("No rows match the filters, so there is nothing to draw.")
    if groups <= shown:
        return ""
    case = "more" if more else "others" if others is not None else "rest"
    return _(NOTES["first" if in_order else "largest", case], shown=shown, groups=_shown(groups),
             rest=_shown(groups - shown), others=_shown(others or 0))


def chart_body(scope: Scope, query: AggregateQuery, page: AggregatePage) -> dict[str, Any]:
    measure, group = query.measures[0], query.group_by[0]
    shown, rest = page.rows[:CHART_GROUPS], page.rows[CHART_GROUPS:]
    others = None
    if rest and measure.function in ("count", "sum") and not page.truncated:
        others = sum(_number(value) or 0 for _key, value in rest)
    title = _measure_title(query, scope)
    group_title = _label(scope.by_name[group])
    return {"dataset": scope.entry_name, "version": page.version_number, "group_by": group,
            "group_title": group_title, "measure": measure.label, "measure_title": title,
            "title": _("%(measure)s by %(group)s", measure=title, group=group_title),
            "rows": [{"name": _group_name(key), "value": _number(value)} for key, value in shown],
            "groups": len(page.rows), "more_groups": page.truncated, "others": others,
            "others_label": _("Other groups"),
            "note": _chart_note(query.sort[0].column == group, len(shown), len(page.rows), page.truncated, others)}


def _json_error(request: Request, exc: KaifangError, filters: Sequence[FilterRow] = ()) -> Response:
    error: dict[str, Any] = {"code": type(exc).__name__, "message": exc.message}
    if isinstance(exc, InvalidParameter):
        error["fields"] = exc.fields
        error["filter"] = next((row.index for row in filters if row.param == exc.parameter), None)
    return Response(orjson.dumps({"error": error}), exc.status_code, media_type="application/json",
                    headers=getattr(request.state, "rate_headers", {}))


@router.get("/datasets/{name}/chart-data")
def chart_data(name: str, request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db),
               settings: Settings = Depends(get_settings)) -> Response:
    """The numbers of a chart (JSON): a measure per group, the largest groups first."""
    filters = typed_filters(request)
    try:
        meter(request, actor)
        scope = _access(db, settings, actor, name, Channel.CHART)
        query = chart_query(request, scope, filters, settings)
    except KaifangError as exc:
        return _json_error(request, exc, filters)
    body = chart_body(scope, query, read_aggregate(engine_of(request), scope, query))
    raw = orjson.dumps(body)
    params = {"query": [["group_by", body["group_by"]], ["measure", body["measure"]],
                        *[list(p) for p in filter_params(filters)]]}
    _log(request, db, actor, scope, "aggregate", "json", params, len(body["rows"]), raw)
    return Response(raw, media_type="application/json", headers=_headers(request, scope))
