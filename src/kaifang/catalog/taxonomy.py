"""The subject taxonomy: loaded from a TOML file into the catalog_domain table."""

from __future__ import annotations

import tomllib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kaifang.catalog.models import Domain

DEFAULT_TAXONOMY = Path(__file__).with_name("taxonomy.toml")


def read_taxonomy(path: Path | None = None) -> list[dict[str, str]]:
    with (path or DEFAULT_TAXONOMY).open("rb") as fh:
        return list(tomllib.load(fh)["domain"])


def sync_taxonomy(session: Session, path: Path | None = None) -> int:
    """Adds missing domains and refreshes names; never deletes (entries may point at them)."""
    existing = {d.code: d for d in session.scalars(select(Domain))}
    for position, row in enumerate(read_taxonomy(path)):
        domain = existing.get(row["code"]) or Domain(code=row["code"])
        domain.name, domain.name_en, domain.position = row["name"], row.get("name_en", ""), position
        session.add(domain)
    session.flush()
    return len(existing)


def list_domains(session: Session) -> list[Domain]:
    return list(session.scalars(select(Domain).order_by(Domain.position)))
