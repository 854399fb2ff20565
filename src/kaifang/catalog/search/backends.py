"""Text matching and ranking per engine, over the same segmented tokens.

SQLite: FTS5 MATCH. PostgreSQL: ``@@`` against the weighted ``tsvector`` expression the GIN index is
built on (it must stay identical to the index's for the planner to use it). Both receive the same
token groups, so both find the same entries.

Relevance is a tier, the same on both engines: 0 when every word is in the title, 1 when every word
is in the title or the keywords, 2 otherwise; the caller breaks ties by publication date. Catalog
metadata is short, so where the words are says more than how often they occur — and tiers cost a
fraction of bm25/ts_rank, which are computed for every match (a fifth of a query at 100,000 entries).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, case, column, func, literal, literal_column, select, table
from sqlalchemy.orm import Session

from kaifang.catalog.models import CatalogEntry
from kaifang.catalog.search.models import SearchDoc
from kaifang.catalog.search.schema import FTS_TABLE, PG_WEIGHTS
from kaifang.catalog.search.segment import Group

_fts = table(FTS_TABLE, column("rowid"))
_fts_name: ColumnElement[object] = literal_column(FTS_TABLE)
_SIMPLE: ColumnElement[object] = literal_column("'simple'::regconfig")
# Column sets of the tiers: (SQLite FTS5 column filter, PostgreSQL weight labels).
TIERS = (("{title_tokens}", "A"), ("{title_tokens keyword_tokens}", "AB"))


def _expression(groups: list[Group], quote: str, and_: str, or_: str, suffix: str = "") -> str:
    # Tokens are letters, digits and CJK characters only (see segment.py): nothing to escape.
    def alternative(tokens: tuple[str, ...]) -> str:
        return "(" + and_.join(f"{quote}{t}{quote}{suffix}" for t in tokens) + ")"

    return and_.join("(" + or_.join(alternative(a) for a in group) + ")" for group in groups)


def fts5_query(groups: list[Group], columns: str = "") -> str:
    expression = _expression(groups, '"', " AND ", " OR ")
    return f"{columns} : ({expression})" if columns else expression


def tsquery(groups: list[Group], weights: str = "") -> str:
    return _expression(groups, "", " & ", " | ", f":{weights}" if weights else "")


def pg_vector() -> ColumnElement[object]:
    cols = (SearchDoc.title_tokens, SearchDoc.keyword_tokens, SearchDoc.body_tokens)
    parts = [func.setweight(func.to_tsvector(_SIMPLE, col), literal_column(f"'{w}'::\"char\""))
             for col, w in zip(cols, PG_WEIGHTS, strict=True)]
    vector: ColumnElement[object] = parts[0]
    for part in parts[1:]:
        vector = vector.op("||")(part)
    return vector


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _postgresql(stmt: Select, groups: list[Group], ranked: bool) -> tuple[Select, ColumnElement[int]]:
    vector = pg_vector()
    stmt = stmt.where(vector.op("@@")(func.to_tsquery(_SIMPLE, tsquery(groups))))
    if not ranked:
        return stmt, literal(0)
    tiers = [(vector.op("@@")(func.to_tsquery(_SIMPLE, tsquery(groups, weights))), n)
             for n, (_cols, weights) in enumerate(TIERS)]
    return stmt, case(*tiers, else_=len(TIERS))


def _sqlite(stmt: Select, groups: list[Group], ranked: bool) -> tuple[Select, ColumnElement[int]]:
    def matching(columns: str = "") -> Select:
        return select(_fts.c.rowid).select_from(_fts).where(_fts_name.op("MATCH")(fts5_query(groups, columns)))

    tier: ColumnElement[int] = literal(0)
    if ranked:
        tier = case(*((_fts.c.rowid.in_(matching(cols)), n) for n, (cols, _w) in enumerate(TIERS)),
                    else_=len(TIERS))
    # The matches are materialised first: joined directly, SQLite would run the MATCH once per
    # candidate entry instead of once per query (seconds instead of milliseconds at 20,000 entries).
    hits = (select(_fts.c.rowid.label("doc_id"), tier.label("tier")).select_from(_fts)
            .where(_fts_name.op("MATCH")(fts5_query(groups))).cte("hits").prefix_with("MATERIALIZED"))
    return stmt.join(hits, hits.c.doc_id == SearchDoc.doc_id), hits.c.tier


def apply_match(session: Session, stmt: Select, groups: list[Group],
                ranked: bool = True) -> tuple[Select, ColumnElement[int]]:
    """``stmt`` (over catalog_entry) restricted to entries matching the groups, and their relevance
    tier (smaller is better; only worked out if ``ranked``)."""
    stmt = stmt.join(SearchDoc, SearchDoc.entry_id == CatalogEntry.id)
    if dialect_of(session) == "postgresql":
        return _postgresql(stmt, groups, ranked)
    return _sqlite(stmt, groups, ranked)
