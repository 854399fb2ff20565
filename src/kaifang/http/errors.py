"""Domain errors mapped to HTTP once: JSON for /api, pages (or a login redirect) for the rest."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from kaifang.errors import InvalidParameter, KaifangError, NotAuthenticated, RateLimited, ValidationFailed
from kaifang.i18n import _

log = logging.getLogger("kaifang.errors")


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def api_error(status: int, code: str, message: str, fields: dict[str, list[str]] | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields  # type: ignore[index]
    return JSONResponse(body, status_code=status)


def _error_page(request: Request, status: int, message: str) -> Response:
    # The web layer registers its renderer at start-up (it sits above this module).
    render = getattr(request.app.state, "render_error", None)
    if render is None:
        return JSONResponse({"error": {"message": message}}, status_code=status)
    response: Response = render(request, status, message)
    return response


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(KaifangError)
    async def domain_error(request: Request, exc: KaifangError) -> Response:
        code = type(exc).__name__
        if is_api(request):
            fields = exc.fields if isinstance(exc, ValidationFailed | InvalidParameter) else None
            response = api_error(exc.status_code, code, exc.message, fields)
            if isinstance(exc, NotAuthenticated):
                response.headers["WWW-Authenticate"] = "Bearer"
            if isinstance(exc, RateLimited):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if isinstance(exc, RateLimited):
            page = _error_page(request, exc.status_code, exc.message)
            page.headers["Retry-After"] = str(exc.retry_after)
            return page
        if isinstance(exc, NotAuthenticated):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return _error_page(request, exc.status_code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def request_validation(request: Request, exc: RequestValidationError) -> Response:
        fields: dict[str, list[str]] = {}
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            fields.setdefault(".".join(loc) or "request", []).append(err.get("msg", ""))
        message = _("Some parameters are invalid: %(names)s", names=", ".join(fields))
        if is_api(request):
            return api_error(400, "InvalidParameter", message, fields)
        return _error_page(request, 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = {404: _("Page not found."), 405: _("This method is not allowed here.")}.get(
            exc.status_code, str(exc.detail))
        if is_api(request):
            return api_error(exc.status_code, "HTTPError", message)
        return _error_page(request, exc.status_code, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ClientDisconnect):  # the client went away (a download broken off): no error of ours
            log.info("client disconnected: %s", request.url.path)
            return Response(status_code=499)
        log.exception("unhandled error")
        message = _("Something went wrong on our side. The error has been logged.")
        if is_api(request):
            return api_error(500, "InternalError", message)
        return _error_page(request, 500, message)
