from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from kaifang.app import create_app
from kaifang.config import Settings
from tests.factories import PASSWORD, csrf_from


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as c:
        yield c


@pytest.fixture
def new_client(app: FastAPI) -> Callable[[], TestClient]:
    def make() -> TestClient:
        return TestClient(app, base_url="http://testserver", follow_redirects=False)
    return make


def csrf(client: TestClient, path: str = "/register") -> str:
    response = client.get(path)
    return csrf_from(response.text)


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf(client)
    response = client.post("/login", data={"login": username, "password": password,
                                           "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text[:500]


def post_form(client: TestClient, path: str, data: dict[str, str], page: str | None = None):
    """Submits a form the way a browser does: with the CSRF token of a page it loaded."""
    token = csrf(client, page or "/register")
    return client.post(path, data={**data, "csrf_token": token})


@pytest.fixture
def committed(session: Session) -> Callable[[], None]:
    return session.commit
