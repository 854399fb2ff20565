"""The catalog page (/catalog): full-text search, facet filters, sort and paging.

Everything on the page — results, total and facet counts — comes from one search over what the
visitor may see (``search_visible``), so counts never hint at entries hidden from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.catalog.search import PAGE_FACETS, SearchQuery, SearchResult, Sort, search_visible
from kaifang.catalog.taxonomy import list_domains
from kaifang.catalog.vocab import (
    ACCESS_MODE_LABELS,
    ENTRY_STATUS_LABELS,
    OPEN_TYPE_LABELS,
    UPDATE_FREQUENCY_LABELS,
)
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db
from kaifang.i18n import N_, _, get_locale
from kaifang.web.templating import render

router = APIRouter()

PER_PAGE = 20
MAX_PAGE = 500
MAX_VALUES = 20
VISIBLE_FACET_VALUES = 8
SORTS = (Sort.RELEVANCE, Sort.NEWEST, Sort.MOST_USED)
SORT_LABELS = {Sort.RELEVANCE: N_("Relevance"), Sort.NEWEST: N_("Newest"), Sort.MOST_USED: N_("Most used")}
FACET_TITLES = {"domain": N_("Domain"), "provider": N_("Provider"), "open_type": N_("Open type"),
                "format": N_("Format"), "update_frequency": N_("Update frequency"),
                "access_mode": N_("Access mode")}
OPEN_TYPE_CLASS = {"unconditional": "ok", "conditional": "warn", "non_open": "bad"}


@dataclass(frozen=True)
class Params:
    q: str
    sort: Sort
    page: int
    filters: dict[str, list[str]]

    @classmethod
    def parse(cls, request: Request) -> Params:
        args = request.query_params
        sort = args.get("sort", "")
        try:
            page = min(max(int(args.get("page", "1")), 1), MAX_PAGE)
        except ValueError:
            page = 1
        filters = {f: list(dict.fromkeys(v[:100] for v in args.getlist(f) if v))[:MAX_VALUES]
                   for f in PAGE_FACETS}
        return cls(args.get("q", "").strip()[:200], Sort(sort) if sort in SORTS else Sort.RELEVANCE, page,
                   {k: v for k, v in filters.items() if v})

    def url(self, **changes: Any) -> str:
        """This page's address with some parameters changed (paging restarts unless given)."""
        values: dict[str, Any] = {"q": self.q, "sort": self.sort.value, "page": 1, "filters": self.filters}
        values.update(changes)
        pairs: list[tuple[str, str]] = [("q", values["q"])] if values["q"] else []
        for name, chosen in values["filters"].items():
            pairs += [(name, v) for v in chosen]
        if values["sort"] != Sort.RELEVANCE:
            pairs.append(("sort", values["sort"]))
        if values["page"] > 1:
            pairs.append(("page", str(values["page"])))
        return "/catalog" + ("?" + urlencode(pairs) if pairs else "")

    def toggled(self, field: str, value: str) -> dict[str, list[str]]:
        chosen = self.filters.get(field, [])
        new = [v for v in chosen if v != value] if value in chosen else [*chosen, value]
        return {**{k: v for k, v in self.filters.items() if k != field}, **({field: new} if new else {})}


def _labels(db: Session, result: SearchResult, params: Params) -> dict[str, dict[str, str]]:
    english = get_locale() == "en"
    domains = {d.code: (d.name_en if english and d.name_en else d.name) for d in list_domains(db)}
    slugs = {v for v, _n in result.facets.get("provider", [])} | set(params.filters.get("provider", []))
    orgs = db.execute(select(Organisation.slug, Organisation.name, Organisation.name_en)
                      .where(Organisation.slug.in_(slugs))).all()
    return {
        "domain": domains,
        "provider": {slug: (name_en if english and name_en else name) for slug, name, name_en in orgs},
        "open_type": {k: _(v) for k, v in OPEN_TYPE_LABELS.items()},
        "update_frequency": {k: _(v) for k, v in UPDATE_FREQUENCY_LABELS.items()},
        "access_mode": {k: _(v) for k, v in ACCESS_MODE_LABELS.items()},
        "format": {},
    }


def _facets(result: SearchResult, params: Params, labels: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    out = []
    for name in PAGE_FACETS:
        counts = dict(result.facets.get(name, []))
        for value in params.filters.get(name, []):
            counts.setdefault(value, 0)  # a ticked value stays visible (to untick it) even at 0
        if not counts:
            continue
        chosen = params.filters.get(name, [])
        items = [{"value": v, "label": labels[name].get(v, v), "count": n, "selected": v in chosen,
                  "url": params.url(filters=params.toggled(name, v))}
                 for v, n in sorted(counts.items(), key=lambda kv: (kv[0] not in chosen, -kv[1], kv[0]))]
        out.append({"name": name, "title": _(FACET_TITLES[name]), "items": items[:VISIBLE_FACET_VALUES],
                    "more": items[VISIBLE_FACET_VALUES:]})
    return out


def _chips(params: Params, labels: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    return [{"label": f"{_(FACET_TITLES[name])}: {labels[name].get(v, v)}",
             "url": params.url(filters=params.toggled(name, v))}
            for name, chosen in params.filters.items() for v in chosen]


def _pages(current: int, last: int) -> list[int | None]:
    """Page numbers around the current one, with None where a gap is shown."""
    keep = sorted({1, last, *range(max(1, current - 2), min(last, current + 2) + 1)})
    out: list[int | None] = []
    for n in keep:
        if out and n - (out[-1] or 0) > 1:
            out.append(None)
        out.append(n)
    return out


def _card(entry: Any, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    english = get_locale() == "en"
    return {
        "entry": entry, "title": entry.title_en if english and entry.title_en else entry.title,
        "open_type": labels["open_type"].get(entry.open_type, entry.open_type),
        "open_class": OPEN_TYPE_CLASS.get(entry.open_type, ""),
        "status": _(ENTRY_STATUS_LABELS[entry.status]) if entry.status != "published" else "",
        "provider": entry.provider.name_en if english and entry.provider.name_en else entry.provider.name,
        "domain": labels["domain"].get(entry.domain_code or "", ""),
        "frequency": labels["update_frequency"].get(entry.update_frequency, ""),
    }


@router.get("/catalog", response_class=HTMLResponse)
def catalog(request: Request, actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> HTMLResponse:
    params = Params.parse(request)
    result = search_visible(db, actor, SearchQuery(
        text=params.q, filters=params.filters, sort=params.sort, offset=(params.page - 1) * PER_PAGE,
        limit=PER_PAGE, facet_fields=PAGE_FACETS))
    labels = _labels(db, result, params)
    last = max(1, min(MAX_PAGE, -(-result.total // PER_PAGE)))
    return render(request, "search/catalog.html", {
        "params": params, "result": result, "cards": [_card(e, labels) for e in result.entries],
        "facets": _facets(result, params, labels), "chips": _chips(params, labels),
        "sorts": [{"label": _(SORT_LABELS[s]), "url": params.url(sort=s), "current": s == params.sort}
                  for s in SORTS],
        "pages": [{"n": n, "url": params.url(page=n) if n else ""} for n in _pages(params.page, last)],
        "prev_url": params.url(page=params.page - 1) if params.page > 1 else "",
        "next_url": params.url(page=params.page + 1) if params.page < last else "",
        "clear_url": params.url(filters={}),
    })
