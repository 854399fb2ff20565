"""Who may use a route: every route declares one of these as a dependency (checked by a test).

The principal is resolved once per request, from an API token (``Authorization: Bearer`` or
``X-CKAN-API-Key``) or from the signed session cookie.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from kaifang.auth.actions import touch_token
from kaifang.auth.models import User
from kaifang.auth.permissions import Permission, Principal
from kaifang.auth.queries import principal_for, user_for_token
from kaifang.context import client_ip_var
from kaifang.db import utcnow
from kaifang.errors import Forbidden, NotAuthenticated
from kaifang.http.deps import get_db
from kaifang.i18n import _

SESSION_USER = "uid"  # read by kaifang.http.csrf too
SESSION_AUTH_VERSION = "av"


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    if header.startswith("kf_"):  # ckanapi sends the bare token
        return header.strip()
    return request.headers.get("x-ckan-api-key") or None


def resolve_principal(request: Request, db: Session) -> Principal:
    cached: Principal | None = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal = Principal.anonymous()
    token = _bearer(request)
    if token is not None:
        found = user_for_token(db, token, utcnow())
        if found is None:
            raise NotAuthenticated(_("The API token is invalid, expired or revoked."))
        user, row = found
        if touch_token(row, client_ip_var.get()):
            db.commit()
        request.state.api_token = row
        principal = principal_for(db, user, via_token=True)
    elif SESSION_USER in request.session:
        session_user = db.get(User, request.session[SESSION_USER])
        if (session_user and session_user.is_active
                and session_user.auth_version == request.session.get(SESSION_AUTH_VERSION)):
            principal = principal_for(db, session_user)
        else:
            request.session.clear()
    request.state.principal = principal
    return principal


class Access:
    """A route's declared audience. Instances are FastAPI dependencies returning the principal."""

    def __init__(self, name: str, check: Callable[[Principal], bool] | None = None,
                 login: bool = False) -> None:
        self.name, self.check, self.login = name, check, login

    async def __call__(self, request: Request, db: Session = Depends(get_db)) -> Principal:
        # Without credentials there is nothing to look up: no trip through the thread pool.
        if getattr(request.state, "principal", None) is None and (
                _bearer(request) is not None or SESSION_USER in request.session):
            principal = await run_in_threadpool(resolve_principal, request, db)
        else:
            principal = resolve_principal(request, db)
        if (self.login or self.check) and not principal.is_authenticated:
            raise NotAuthenticated(_("Please log in first."))
        if self.check and not self.check(principal):
            raise Forbidden(_("You do not have permission to do this."))
        return principal

    def __repr__(self) -> str:
        return f"Access({self.name})"


PUBLIC = Access("public")
LOGGED_IN = Access("logged_in", login=True)


def need(permission: Permission) -> Access:
    return Access(f"permission:{permission}", lambda p: p.can(permission))


ADMIN_AREA = need(Permission.ADMIN_AREA)
MANAGE_USERS = need(Permission.MANAGE_USERS)
MANAGE_ORGANISATIONS = need(Permission.MANAGE_ORGANISATIONS)
REVIEW_IDENTITY = need(Permission.REVIEW_IDENTITY)
READ_AUDIT = need(Permission.READ_AUDIT)
READ_OUTBOX = need(Permission.READ_OUTBOX)
MANAGE_CALENDAR = need(Permission.MANAGE_CALENDAR)
