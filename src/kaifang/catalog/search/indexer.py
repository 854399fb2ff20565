"""Keeping the search index in step with catalog entries.

``index_entry`` is called after every write that changes what an entry says or who may see it
(create, edit, publish, withdraw); ``remove_entry`` when an entry goes away. Neither commits: the
caller's unit of work does. Visibility is never read from the index — searches filter on the
entry's own columns — so a stale index can hide an entry but never expose one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from kaifang.auth.models import Organisation
from kaifang.catalog.models import CatalogEntry, DataItem
from kaifang.catalog.search.models import SearchDoc, SearchFacet
from kaifang.catalog.search.segment import index_tokens
from kaifang.config import Settings
from kaifang.db import make_engine, make_session_factory, unit_of_work, utcnow

MULTI_VALUED = ("format", "access_mode", "tag")
BATCH = 1000


@dataclass
class Source:
    """What the index reads of an entry (plain values, so bulk rebuilds need no ORM objects)."""

    entry_id: str
    title: str
    title_en: str = ""
    summary: str = ""
    keywords: Sequence[str] = ()
    formats: Sequence[str] = ()
    access_modes: Sequence[str] = ()
    provider_names: Sequence[str] = ()
    item_texts: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, entry: CatalogEntry) -> Source:
        provider = entry.provider
        return cls(entry.id, entry.title, entry.title_en, entry.summary, entry.keywords or (),
                   entry.formats or (), entry.access_modes or (),
                   (provider.name, provider.name_en) if provider else (),
                   [text for item in entry.items for text in (item.name, item.title)])


def document(src: Source) -> dict[str, Any]:
    """The index row of an entry: segmented title, keywords and everything else."""
    return {
        "entry_id": src.entry_id,
        "title_tokens": index_tokens(src.title, src.title_en),
        "keyword_tokens": index_tokens(*src.keywords),
        "body_tokens": index_tokens(src.summary, *src.item_texts, *src.provider_names),
        "indexed_at": utcnow(),
    }


def facet_rows(src: Source) -> list[dict[str, str]]:
    values = {"format": src.formats, "access_mode": src.access_modes, "tag": src.keywords}
    return [{"entry_id": src.entry_id, "field": name, "value": value[:100]}
            for name in MULTI_VALUED for value in dict.fromkeys(values[name])]


def write_sources(session: Session, sources: Iterable[Source]) -> int:
    """Inserts index rows for entries that have none (bulk loads call this directly)."""
    docs: list[dict[str, Any]] = []
    facets: list[dict[str, str]] = []
    for src in sources:
        docs.append(document(src))
        facets.extend(facet_rows(src))
    if docs:
        session.execute(insert(SearchDoc), docs)
    if facets:
        session.execute(insert(SearchFacet), facets)
    return len(docs)


def remove_entry(session: Session, entry: CatalogEntry | str) -> None:
    entry_id = entry if isinstance(entry, str) else entry.id
    session.execute(delete(SearchDoc).where(SearchDoc.entry_id == entry_id))
    session.execute(delete(SearchFacet).where(SearchFacet.entry_id == entry_id))


def index_entry(session: Session, entry: CatalogEntry) -> None:
    """(Re)indexes one entry; its pending changes are flushed first."""
    session.flush()
    remove_entry(session, entry)
    write_sources(session, [Source.of(entry)])


def _sources(session: Session, after: str, batch: int) -> list[Source]:
    rows = session.execute(
        select(CatalogEntry.id, CatalogEntry.title, CatalogEntry.title_en, CatalogEntry.summary,
               CatalogEntry.keywords, CatalogEntry.formats, CatalogEntry.access_modes,
               Organisation.name, Organisation.name_en)
        .join(Organisation, Organisation.id == CatalogEntry.provider_id)
        .where(CatalogEntry.id > after).order_by(CatalogEntry.id).limit(batch)).all()
    sources = {r[0]: Source(r[0], r[1], r[2], r[3], r[4] or (), r[5] or (), r[6] or (), (r[7], r[8]))
               for r in rows}
    if sources:
        items = session.execute(select(DataItem.entry_id, DataItem.name, DataItem.title)
                                .where(DataItem.entry_id.in_(sources)).order_by(DataItem.position))
        for entry_id, name, title in items:
            sources[entry_id].item_texts.extend((name, title))
    return list(sources.values())


def reindex_all(session: Session, batch: int = BATCH) -> int:
    """Rebuilds the whole index (after a bulk load, a restore or a change of dictionary)."""
    session.flush()
    session.execute(delete(SearchDoc))
    session.execute(delete(SearchFacet))
    total, last_id = 0, ""
    while sources := _sources(session, last_id, batch):
        total += write_sources(session, sources)
        last_id = sources[-1].entry_id
    return total


def reindex_command(settings: Settings) -> int:
    """For the CLI: rebuild the whole index and commit; returns the number of entries indexed."""
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return reindex_all(session)
    finally:
        engine.dispose()
