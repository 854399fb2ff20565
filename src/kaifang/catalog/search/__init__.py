"""Catalog search behind one small interface.

- ``search(session, scope, SearchQuery(...)) -> SearchResult`` and ``search_visible`` for an actor;
- ``index_entry(session, entry)`` / ``remove_entry(session, entry)`` after entry writes,
  ``reindex_all(session)`` to rebuild;
- ``warm_up()`` loads the segmentation dictionary ahead of the first query (servers: at start-up,
  in a background thread, so the first visitor does not wait for it);
- ``reindex_command(settings)`` for the CLI.
"""

from kaifang.catalog.search.engine import (
    FACET_FIELDS,
    PAGE_FACETS,
    SearchQuery,
    SearchResult,
    Sort,
    modified_at,
    search,
    search_visible,
)
from kaifang.catalog.search.indexer import (
    Source,
    index_entry,
    reindex_all,
    reindex_command,
    remove_entry,
    write_sources,
)
from kaifang.catalog.search.segment import warm_up

__all__ = ["FACET_FIELDS", "PAGE_FACETS", "SearchQuery", "SearchResult", "Sort", "Source", "index_entry",
           "modified_at", "reindex_all", "reindex_command", "remove_entry", "search", "search_visible", "warm_up",
           "write_sources"]
