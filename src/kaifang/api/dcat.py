"""DCAT-AP feeds of the public catalog: /catalog.jsonld|.ttl (paged) and /datasets/{name}.jsonld|.ttl.

Public whoever asks: only public entries are described (see kaifang.catalog.dcat).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from kaifang.auth.permissions import Principal
from kaifang.catalog.dcat import PAGE_SIZE, catalog_graph, dataset_graph, serialise
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db, settings_of

router = APIRouter(tags=["dcat"])

MEDIA = {"jsonld": "application/ld+json; charset=utf-8", "ttl": "text/turtle; charset=utf-8"}
CACHE = "public, max-age=300"


def _response(body: str, fmt: str) -> Response:
    return Response(body, media_type=MEDIA[fmt], headers={"Cache-Control": CACHE})


def _catalog(request: Request, db: Session, fmt: str, page: int) -> Response:
    base = settings_of(request).base_url
    graph = catalog_graph(db, base, page, PAGE_SIZE, feed_url=f"{base.rstrip('/')}/catalog.{fmt}")
    return _response(serialise(graph, "jsonld" if fmt == "jsonld" else "turtle"), fmt)


@router.get("/catalog.jsonld", summary="The public catalog as DCAT-AP JSON-LD (100 datasets a page)")
def catalog_jsonld(request: Request, page: int = Query(1, ge=1, le=100000),
                   actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> Response:
    return _catalog(request, db, "jsonld", page)


@router.get("/catalog.ttl", summary="The public catalog as DCAT-AP Turtle (100 datasets a page)")
def catalog_ttl(request: Request, page: int = Query(1, ge=1, le=100000),
                actor: Principal = Depends(PUBLIC), db: Session = Depends(get_db)) -> Response:
    return _catalog(request, db, "ttl", page)


@router.get("/datasets/{name}.jsonld", summary="One public dataset as DCAT-AP JSON-LD")
def dataset_jsonld(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                   db: Session = Depends(get_db)) -> Response:
    return _response(serialise(dataset_graph(db, settings_of(request).base_url, name), "jsonld"), "jsonld")


@router.get("/datasets/{name}.ttl", summary="One public dataset as DCAT-AP Turtle")
def dataset_ttl(name: str, request: Request, actor: Principal = Depends(PUBLIC),
                db: Session = Depends(get_db)) -> Response:
    return _response(serialise(dataset_graph(db, settings_of(request).base_url, name), "turtle"), "ttl")
