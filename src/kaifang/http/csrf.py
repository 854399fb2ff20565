"""CSRF protection for every unsafe request made with the session cookie.

A random token lives in the signed session; forms carry it as ``csrf_token`` and htmx sends it
as ``X-CSRF-Token``. Token-authenticated API calls carry no cookie and need none.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from kaifang.errors import Forbidden
from kaifang.i18n import _

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_KEY = "csrf"
# The session key holding the logged-in user (kaifang.http.access.SESSION_USER).
SESSION_USER_KEY = "uid"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return str(token)


async def csrf_protect(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    expected = request.session.get(SESSION_KEY, "")
    sent = request.headers.get("x-csrf-token", "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token", "")
        sent = value if isinstance(value, str) else ""
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden(_("The form has expired or did not come from this site. Reload the page and try again."))


def _has_token_credentials(request: Request) -> bool:
    return bool(request.headers.get("authorization") or request.headers.get("x-ckan-api-key"))


async def api_csrf_protect(request: Request) -> None:
    """API calls carrying a token, or no login at all, need no CSRF token; calls riding on a
    logged-in session cookie do (a page of another site could otherwise make them)."""
    if request.method in SAFE_METHODS or _has_token_credentials(request):
        return
    if SESSION_USER_KEY not in request.session:
        return
    expected = request.session.get(SESSION_KEY, "")
    sent = request.headers.get("x-csrf-token", "")
    if not expected or not sent or not hmac.compare_digest(str(expected), sent):
        raise Forbidden(_("The form has expired or did not come from this site. Reload the page and try again."))
