"""Request-scoped dependencies shared by pages and the API."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from kaifang.config import Settings


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """One session per request; routes commit their unit of work explicitly."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        # close() ends any open transaction without expiring loaded objects, so error pages
        # rendered after the route can still show the signed-in user.
        session.close()


async def form_data(request: Request) -> dict[str, str]:
    """The submitted form's text fields (file fields are read by the routes that take files)."""
    form = await request.form()
    return {key: value.strip() if key not in _RAW_FIELDS else value
            for key, value in form.multi_items() if isinstance(value, str)}


# Passwords are taken exactly as typed.
_RAW_FIELDS = {"password", "password_confirm", "current_password", "new_password",
               "new_password_confirm"}
