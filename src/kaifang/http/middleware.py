"""Request id, client address, locale and an access log line for every request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kaifang.context import client_ip_var, request_id_var
from kaifang.i18n import (
    DEFAULT_LOCALE,
    locale_from_accept_language,
    normalise_locale,
    reset_locale,
    set_locale,
)

LOCALE_COOKIE = "kaifang_lang"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = logging.getLogger("kaifang.request")


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    raw = headers.get(b"cookie", b"").decode("latin-1")
    for part in raw.split(";"):
        key, _sep, value = part.strip().partition("=")
        if key == name:
            return value
    return None


def choose_locale(path: str, query: str, headers: dict[bytes, bytes]) -> str:
    """?lang= wins, then the language cookie; pages default to Chinese, the API honours
    Accept-Language (its callers are programs that say what they want)."""
    for part in query.split("&"):
        key, _sep, value = part.partition("=")
        if key == "lang" and normalise_locale(value):
            return normalise_locale(value) or DEFAULT_LOCALE
    cookie = normalise_locale(_cookie(headers, LOCALE_COOKIE))
    if cookie:
        return cookie
    if path.startswith("/api"):
        accepted = locale_from_accept_language(headers.get(b"accept-language", b"").decode("latin-1"))
        if accepted:
            return accepted
    return DEFAULT_LOCALE


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        client = scope.get("client")
        id_token = request_id_var.set(request_id)
        ip_token = client_ip_var.set(client[0] if client else "")
        locale = choose_locale(scope["path"], scope.get("query_string", b"").decode("latin-1"), headers)
        locale_token = set_locale(locale)
        scope.setdefault("state", {})["locale"] = locale
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info("request", extra={
                "method": scope["method"], "path": scope["path"], "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            })
            reset_locale(locale_token)
            client_ip_var.reset(ip_token)
            request_id_var.reset(id_token)
