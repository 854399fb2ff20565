"""Shared fixtures: real databases (SQLite by default, PostgreSQL with KAIFANG_TEST_DATABASE_URL).

Each test gets an empty, fully migrated database: on SQLite a copy of a template file migrated
once per run; on PostgreSQL a database created for the run whose tables are emptied between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from kaifang.config import Environment, Settings
from kaifang.db import make_engine, make_session_factory
from kaifang.migrate import upgrade_database

PG_URL = os.environ.get("KAIFANG_TEST_DATABASE_URL", "")


def _base_settings(tmp: Path, database_url: str) -> Settings:
    return Settings(
        environment=Environment.TEST,
        secret_key="test-secret-key-with-enough-length-0123456789",
        database_url=database_url,
        data_dir=tmp / "data",
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture(scope="session")
def _db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for the run: a SQLite file to copy, or a PostgreSQL database URL."""
    tmp = tmp_path_factory.mktemp("dbtemplate")
    if not PG_URL:
        path = tmp / "template.db"
        upgrade_database(f"sqlite:///{path}")
        yield str(path)
        return
    url = make_url(PG_URL if "+" in PG_URL.split("://")[0] else PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"kaifang_test_{worker}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    test_url = url.set(database=name).render_as_string(hide_password=False)
    upgrade_database(test_url)
    yield test_url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _empty_tables(database_url: str) -> None:
    eng = make_engine(database_url)
    with eng.begin() as conn:
        tables = conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename NOT IN ('alembic_version', 'catalog_domain')")).scalars().all()
        if tables:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " CASCADE"))
    eng.dispose()


@pytest.fixture
def settings(_db_template: str, tmp_path: Path) -> Iterator[Settings]:
    """Every test that touches the database asks for this, so the clean-up lives here."""
    if not PG_URL:
        db_file = tmp_path / "kaifang.db"
        shutil.copyfile(_db_template, db_file)
        yield _base_settings(tmp_path, f"sqlite:///{db_file}")
        return
    yield _base_settings(tmp_path, _db_template)
    _empty_tables(_db_template)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    factory = make_session_factory(engine)
    with factory() as s:
        yield s
