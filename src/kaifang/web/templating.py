"""Jinja2 environment with gettext and the helpers every page needs."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kaifang.http.csrf import csrf_token
from kaifang.i18n import LOCALES, get_locale, gettext, ngettext

TEMPLATE_DIR = Path(__file__).parent / "templates"
FLASH_KEY = "flash"
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def _datetime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    # Users read Beijing time; the database keeps UTC.
    return value.astimezone(CHINA_TZ).strftime(fmt) if value else ""


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    env.filters["datetime"] = _datetime
    env.filters["urlquote"] = lambda v: quote(str(v), safe="")
    env.globals["LOCALES"] = LOCALES
    return env


def flash(request: Request, message: str, category: str = "success", link: tuple[str, str] | None = None) -> None:
    """A message for the next page; ``link`` (href, label) follows it, e.g. to what needs doing next."""
    request.session.setdefault(FLASH_KEY, []).append([category, message, *(link or ())])


def _pop_flashes(request: Request) -> list[list[str]]:
    return list(request.session.pop(FLASH_KEY, []) or [])


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    ctx = {
        "request": request,
        "principal": principal,
        "locale": get_locale(),
        "csrf_token": csrf_token(request),
        "flashes": _pop_flashes(request),
        "current_path": request.url.path,
        "current_url": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        "errors": {},
        "form": {},
        **(context or {}),
    }
    html = environment().get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code)
