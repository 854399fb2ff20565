"""The application factory: settings in, a configured FastAPI app out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from kaifang import __version__
from kaifang.api.router import api_router
from kaifang.config import Settings
from kaifang.db import make_engine, make_session_factory
from kaifang.http.data import close_data
from kaifang.http.errors import install_error_handlers
from kaifang.http.middleware import RequestContextMiddleware
from kaifang.logs import configure_logging
from kaifang.web.router import STATIC_DIR, render_error, web_router

SESSION_COOKIE = "kaifang_session"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    # Queued access log rows are written before the process ends.
    close_data(app.state)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(
        lifespan=lifespan,
        title="Kaifang API",
        version=__version__,
        description="Public data open platform. JSON API under /api/v1; CKAN-compatible reads under /api/3.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.render_error = render_error
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)

    install_error_handlers(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(RequestContextMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(api_router)
    app.include_router(web_router)
    return app
