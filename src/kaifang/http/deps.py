"""Request-scoped dependencies shared by pages and the API."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from kaifang.config import Settings


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_settings(request: Request) -> Settings:
    """The dependency (async: a plain function would cost a trip through the thread pool)."""
    return settings_of(request)


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request; routes commit their unit of work explicitly.

    async, so that making the session (no I/O) costs no trip through the thread pool; closing it
    goes through the pool when it holds a connection to a server (ending the transaction is a
    round trip), and is done at once on SQLite."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        # close() ends any open transaction without expiring loaded objects, so error pages
        # rendered after the route can still show the signed-in user.
        if session.in_transaction() and session.get_bind().dialect.name != "sqlite":
            await run_in_threadpool(session.close)
        else:
            session.close()


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form's text fields (file fields are read by the routes that take files)."""
    form = await request.form()
    return {key: value.strip() if key not in _RAW_FIELDS else value
            for key, value in form.multi_items() if isinstance(value, str)}


# Passwords are taken exactly as typed.
_RAW_FIELDS = {"password", "password_confirm", "current_password", "new_password",
               "new_password_confirm"}
