"""/sitemap.xml and /robots.txt for search engines.

The sitemap lists public entries only (``public_clause``), whoever asks: it is read by crawlers
that index what they find.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kaifang.auth.models import Organisation
from kaifang.auth.permissions import Principal
from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.visibility import public_clause
from kaifang.http.access import PUBLIC
from kaifang.http.deps import get_db, settings_of

router = APIRouter()

# The sitemap protocol allows 50,000 addresses a file; beyond this the sitemap becomes an index.
PER_FILE = 40_000
XML = "application/xml; charset=utf-8"
PRIVATE_AREAS = ("/admin", "/audit", "/account", "/tasks", "/cases", "/login", "/logout", "/register",
                 "/lang/", "/api/")


def _url(loc: str, lastmod: str = "") -> str:
    return f"<url><loc>{escape(loc)}</loc>" + (f"<lastmod>{lastmod}</lastmod>" if lastmod else "") + "</url>"


def _urlset(lines: list[str]) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + "\n".join(lines) + "\n</urlset>\n")


def _index(base: str, files: int) -> str:
    parts = "\n".join(f"<sitemap><loc>{escape(base)}/sitemap.xml?page={n}</loc></sitemap>"
                      for n in range(1, files + 1))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n' + parts + "\n</sitemapindex>\n")


def _entry_lines(db: Session, base: str, page: int) -> list[str]:
    rows = db.execute(select(CatalogEntry.name, CatalogEntry.published_at).where(public_clause())
                      .order_by(CatalogEntry.name).offset((page - 1) * PER_FILE).limit(PER_FILE))
    return [_url(f"{base}/datasets/{name}", published.strftime("%Y-%m-%d") if published else "")
            for name, published in rows]


def _site_lines(db: Session, base: str) -> list[str]:
    slugs = db.scalars(select(Organisation.slug).where(Organisation.is_active.is_(True)).order_by(Organisation.slug))
    return [_url(f"{base}{path}") for path in ("/", "/catalog", "/organisations")] + \
        [_url(f"{base}/organisations/{slug}") for slug in slugs]


@router.get("/sitemap.xml")
def sitemap(request: Request, page: int = 0, actor: Principal = Depends(PUBLIC),
            db: Session = Depends(get_db)) -> Response:
    base = settings_of(request).base_url.rstrip("/")
    total = db.scalar(select(func.count()).select_from(CatalogEntry).where(public_clause())) or 0
    files = max(1, -(-total // PER_FILE))
    if files > 1 and page == 0:
        return Response(_index(base, files), media_type=XML)
    lines = _entry_lines(db, base, max(page, 1))
    if page <= 1:
        lines = _site_lines(db, base) + lines
    return Response(_urlset(lines), media_type=XML)


@router.get("/robots.txt", response_class=PlainTextResponse)
def robots(request: Request, actor: Principal = Depends(PUBLIC)) -> str:
    base = settings_of(request).base_url.rstrip("/")
    rules = "\n".join(f"Disallow: {path}" for path in PRIVATE_AREAS)
    return f"User-agent: *\nAllow: /\n{rules}\n\nSitemap: {base}/sitemap.xml\n"
