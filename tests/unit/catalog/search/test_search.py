"""Catalog search on the real engine of the run (SQLite, or PostgreSQL with KAIFANG_TEST_DATABASE_URL):
the assertions are the same for both, so passing on both means both give the same results."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kaifang.catalog.search import (
    FACET_FIELDS,
    SearchQuery,
    Sort,
    index_entry,
    reindex_all,
    remove_entry,
    search,
    search_visible,
)
from kaifang.catalog.search.models import SearchDoc
from kaifang.catalog.search.segment import index_tokens, query_groups
from kaifang.catalog.visibility import public_clause
from tests.unit.catalog.search.conftest import T0


def names(result):
    return [e.name for e in result.entries]


def public(session, text="", **kw):
    return search(session, public_clause(), SearchQuery(text, **kw))


def test_segmented_query_finds_unsegmented_title(session, catalog):
    for text in ("公交 站点", "公交站点", "站点 公交", "公交站点位置"):
        assert "bus-stops" in names(public(session, text)), text


def test_query_groups_offer_the_word_or_its_parts():
    assert query_groups("公交 站点") == [[("公交",)], [("站点",)]]
    assert query_groups("公交站点") == [[("公交站点",), ("公交", "站点")]]
    assert query_groups("的") == [[("的",)]]
    assert query_groups("公交的站点") == [[("公交",)], [("站点",)]]


def test_tokens_are_the_same_for_both_engines():
    # Punctuation, underscores and dots separate tokens; case is folded.
    assert index_tokens("stop_name GDP 3.5% covid-19") == "stop name gdp 3 5 covid 19"


def test_all_words_must_match(session, catalog):
    assert names(public(session, "公交 医疗")) == []
    assert set(names(public(session, "医疗机构"))) == {"hospitals"}


def test_provider_name_and_items_are_indexed(session, catalog):
    assert set(names(public(session, "卫生健康委员会"))) == {"hospitals", "clinic-stops"}
    assert "hospitals" in names(public(session, "经度"))  # a data item title


def test_relevance_tiers_title_then_keywords_then_the_rest(session, catalog):
    # Two titles say 站点; the other entries only have a data item 站点名称. Newest first in a tier.
    rest = ["hospitals", "taxi-trips", "bus-lines"]
    assert names(public(session, "站点")) == ["clinic-stops", "bus-stops", *rest]
    entry = catalog["entries"]["bus-lines"]
    entry.keywords = ["站点"]
    index_entry(session, entry)
    assert names(public(session, "站点")) == ["clinic-stops", "bus-stops", "bus-lines", "hospitals", "taxi-trips"]
    # Every word must be in the title for the first tier.
    assert names(public(session, "公交 位置"))[0] == "bus-stops"


def test_facet_counts_hand_checked(session, catalog):
    result = public(session, facet_fields=FACET_FIELDS)
    assert result.total == 5
    assert result.facets["provider"] == [("transport", 3), ("health", 2)]
    assert result.facets["domain"] == [("transport", 3), ("health", 2)]
    assert result.facets["open_type"] == [("unconditional", 4), ("conditional", 1)]
    assert result.facets["format"] == [("CSV", 4), ("JSON", 1), ("XLSX", 1)]
    assert result.facets["access_mode"] == [("download", 4), ("api", 2)]
    assert result.facets["update_frequency"] == [("monthly", 2), ("daily", 1), ("quarterly", 1), ("yearly", 1)]


def test_facets_never_count_what_the_caller_cannot_see(session, catalog):
    result = public(session, "公交", facet_fields=FACET_FIELDS)
    assert "patients" not in names(result) and "draft-stops" not in names(result)
    assert "non_open" not in dict(result.facets["open_type"])
    assert "PDF" not in dict(result.facets["format"])  # only the draft has a PDF
    staff = search_visible(session, catalog["staff"]["health"], SearchQuery("公交", facet_fields=FACET_FIELDS))
    assert "patients" in names(staff) and dict(staff.facets["open_type"])["non_open"] == 1
    transport = search_visible(session, catalog["staff"]["transport"], SearchQuery("", facet_fields=FACET_FIELDS))
    assert "draft-stops" in names(transport) and "patients" not in names(transport)
    assert dict(transport.facets["format"])["PDF"] == 1


def test_filters_and_multi_select_counts(session, catalog):
    result = public(session, filters={"format": ["CSV"], "provider": ["transport"]}, facet_fields=FACET_FIELDS)
    assert set(names(result)) == {"bus-stops", "bus-lines", "taxi-trips"} and result.total == 3
    # A field's own selection does not narrow its counts; the other fields' selections do.
    assert result.facets["provider"] == [("transport", 3), ("health", 1)]
    assert result.facets["format"] == [("CSV", 3), ("JSON", 1)]
    both = public(session, filters={"format": ["JSON", "XLSX"]})
    assert set(names(both)) == {"bus-stops", "hospitals"}


def test_sort_orders(session, catalog):
    assert names(public(session, sort=Sort.NEWEST)) == ["clinic-stops", "hospitals", "taxi-trips", "bus-lines", "bus-stops"]
    assert names(public(session, sort=Sort.MOST_USED)) == ["taxi-trips", "bus-stops", "bus-lines", "hospitals", "clinic-stops"]
    assert names(public(session, sort=Sort.NAME)) == sorted(names(public(session, sort=Sort.NAME)))
    ids = [e.id for e in public(session, sort=Sort.ID).entries]
    assert ids == sorted(ids)
    # Relevance without words falls back to newest.
    assert names(public(session)) == names(public(session, sort=Sort.NEWEST))


def test_paging_returns_each_entry_once(session, catalog):
    pages = [names(public(session, sort=Sort.ID, offset=o, limit=2)) for o in (0, 2, 4, 6)]
    assert [len(p) for p in pages] == [2, 2, 1, 0]
    flat = [n for p in pages for n in p]
    assert len(flat) == len(set(flat)) == 5
    assert public(session, offset=4, limit=2).total == 5


def test_modified_range(session, catalog):
    since = T0 + dt.timedelta(days=3)
    assert set(names(public(session, modified_from=since))) == {"taxi-trips", "hospitals", "clinic-stops"}
    assert set(names(public(session, modified_to=since - dt.timedelta(seconds=1)))) == {"bus-stops", "bus-lines"}


def test_remove_and_reindex(session, catalog):
    entry = catalog["entries"]["bus-stops"]
    remove_entry(session, entry)
    assert "bus-stops" not in names(public(session, "公交站点"))
    entry.title = "地铁站点"
    index_entry(session, entry)
    assert "bus-stops" in names(public(session, "地铁"))
    count = reindex_all(session, batch=2)
    assert count == session.scalar(select(func.count()).select_from(SearchDoc)) == 7
    assert "bus-stops" in names(public(session, "地铁"))


def test_visibility_is_read_from_the_entry_not_the_index(session, catalog):
    entry = catalog["entries"]["hospitals"]
    entry.status = "withdrawn"  # withdrawn without reindexing: still hidden at once
    session.flush()
    assert "hospitals" not in names(public(session, "医疗"))


@pytest.mark.parametrize("text", ["", "   ", "!!!", "\"'*()", "a" * 500])
def test_odd_queries_do_not_fail(session, catalog, text):
    public(session, text)
