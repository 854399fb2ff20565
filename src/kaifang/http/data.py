"""What every data route needs: the query engine, the access log, the rate limits, and writing
one access down (``record_access``), shared by the API, the CKAN DataStore and the pages."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session
from starlette.types import Receive, Send
from starlette.types import Scope as AsgiScope

from kaifang.access import log as access_log
from kaifang.access.engine import QueryEngine
from kaifang.access.log import Access, AccessLogWriter, Who
from kaifang.access.scope import Scope
from kaifang.auth.permissions import Principal
from kaifang.config import Settings
from kaifang.context import client_ip_var
from kaifang.datasets.storage import storage_for
from kaifang.db import utcnow
from kaifang.http.ratelimit import api_meter

_lock = threading.Lock()


def engine_of(request: Request) -> QueryEngine:
    """The process's query engine, made on first use (most requests never need one)."""
    state = request.app.state
    engine: QueryEngine | None = getattr(state, "query_engine", None)
    if engine is None:
        with _lock:
            engine = getattr(state, "query_engine", None)
            if engine is None:
                settings: Settings = state.settings
                engine = state.query_engine = QueryEngine(settings, storage_for(settings))
    return engine


def access_log_of(request: Request) -> AccessLogWriter:
    state = request.app.state
    writer: AccessLogWriter | None = getattr(state, "access_log", None)
    if writer is None:
        with _lock:
            writer = getattr(state, "access_log", None)
            if writer is None:
                writer = state.access_log = AccessLogWriter(state.session_factory,
                                                            state.settings.access_log_flush_seconds)
    return writer


def close_data(state: object) -> None:
    """At shutdown: write what the access log still holds, close the engine. Both are dropped, so
    an app whose lifespan starts again (test clients, embedding servers) makes new ones."""
    writer = getattr(state, "access_log", None)
    if writer is not None:
        state.access_log = None  # type: ignore[attr-defined]
        writer.close()
    engine = getattr(state, "query_engine", None)
    if engine is not None:
        state.query_engine = None  # type: ignore[attr-defined]
        engine.close()


def meter(request: Request, actor: Principal) -> dict[str, str]:
    """Counts the call against the caller's rate and quota (429 past them); the headers to send."""
    token = getattr(request.state, "api_token", None)
    headers = api_meter(request.app).hit(token, actor.id or None, client_ip_var.get(), utcnow())
    request.state.rate_headers = headers
    return headers


def who(request: Request, actor: Principal) -> Who:
    token = getattr(request.state, "api_token", None)
    if actor.user is None:
        return access_log.ANONYMOUS
    return Who(actor.user.id, actor.user.username, token.id if token is not None else None)


def record_access(request: Request, db: Session, scope: Scope, access: Access, body: bytes | None = None,
                  sha256: str | None = None) -> None:
    """Logs one call. Conditional data: in this transaction, committed before the response leaves;
    open data: queued for the background writer."""
    if body is not None:
        access.bytes, access.sha256 = len(body), sha256 or hashlib.sha256(body).hexdigest()
    if scope.conditional:
        access_log.write_now(db, access)
        db.commit()
    else:
        access_log_of(request).later(access)


class ClosingStreamingResponse(StreamingResponse):
    """A stream of synchronous chunks that is closed however the response ends. Starlette leaves
    the generator of a download the client broke off suspended until garbage collection, so its
    ``finally`` (completing the access log row) could wait indefinitely."""

    def __init__(self, chunks: Iterator[bytes], **kwargs: Any) -> None:
        super().__init__(chunks, **kwargs)
        self._chunks = chunks

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            close = getattr(self._chunks, "close", None)
            if close is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(close)
