"""The engine-specific full-text structures, which SQLAlchemy's metadata cannot describe.

They are created by the migration that adds the search tables; the DDL is repeated there on
purpose (a migration must not change when this module does). ``include_name`` tells Alembic's
autogenerate to leave them alone, since it would otherwise propose to drop them.
"""

from __future__ import annotations

FTS_TABLE = "catalog_search_fts"
PG_INDEX = "ix_catalog_search_doc_tsv"

# Weight labels of the title, keyword and other tokens in the PostgreSQL tsvector (see backends.py).
PG_WEIGHTS = ("A", "B", "C")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic ``include_name`` hook: skip the FTS5 table, its shadow tables and the GIN index."""
    del parent_names
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)
