"""Running Alembic migrations from code (the CLI and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply the migrations, then bring reference data (the subject taxonomy) up to date."""
    command.upgrade(alembic_config(database_url), revision)
    if revision == "head":
        _sync_reference_data(database_url)


def _sync_reference_data(database_url: str) -> None:
    from kaifang.catalog.taxonomy import sync_taxonomy
    from kaifang.db import make_engine, make_session_factory, unit_of_work

    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            sync_taxonomy(session)
    finally:
        engine.dispose()
