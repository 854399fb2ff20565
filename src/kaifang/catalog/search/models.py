"""Tables of the catalog search index.

``catalog_search_doc`` holds each entry's segmented text; the engine-specific full-text structure
is built over it by the migration (an FTS5 table kept in step by triggers on SQLite, a GIN
expression index on PostgreSQL, see ``schema.py``). ``catalog_search_facet`` holds the
multi-valued facet values (formats, access modes, keywords) so they can be counted and filtered
with plain indexed SQL on both engines.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kaifang.db import Base, utcnow


class SearchDoc(Base):
    __tablename__ = "catalog_search_doc"

    # An integer key: FTS5 addresses its rows by integer rowid.
    doc_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), unique=True)
    title_tokens: Mapped[str] = mapped_column(Text, default="")
    keyword_tokens: Mapped[str] = mapped_column(Text, default="")
    body_tokens: Mapped[str] = mapped_column(Text, default="")
    indexed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SearchFacet(Base):
    __tablename__ = "catalog_search_facet"
    __table_args__ = (Index("ix_catalog_search_facet_field_value", "field", "value"),)

    entry_id: Mapped[str] = mapped_column(ForeignKey("catalog_entry.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
