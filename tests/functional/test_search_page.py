"""The /catalog page: search, facet links that tick and untick, sort, paging, both languages."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from kaifang.auth.models import MembershipRole
from kaifang.auth.queries import principal_for
from kaifang.catalog.vocab import OpenType
from tests.factories import make_org, make_user
from tests.unit.catalog.search.helpers import make_entry

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def world(session, settings):
    transport = make_org(session, "transport", name="市交通运输局")
    health = make_org(session, "health", name="市卫生健康委员会")
    health.name_en = "Health Commission"
    staff = {org.slug: principal_for(session, make_user(session, settings, f"{org.slug}_staff", org=org,
                                                        membership=MembershipRole.STAFF))
             for org in (transport, health)}
    make_entry(session, staff["transport"], transport, "bus-stops", when=T0)
    make_entry(session, staff["transport"], transport, "taxi-trips", title="出租车运营数据", summary="巡游出租车",
               open_type=OpenType.CONDITIONAL, formats=["JSON"], keywords=[], items=[], when=T0 + dt.timedelta(days=1))
    entry = make_entry(session, staff["health"], health, "hospitals", title="医疗机构执业登记信息",
                       title_en="Licensed medical institutions", summary="医疗机构名单", domain_code="health",
                       formats=["XLSX"], keywords=[], items=[], when=T0 + dt.timedelta(days=2))
    entry.use_count = 40
    session.commit()
    return {"transport": transport, "health": health, "staff": staff}


def names(page: str) -> list[str]:
    return re.findall(r'<article class="result-card" data-name="([^"]+)"', page)


def links(page: str) -> dict[str, str]:
    """Facet link label → address."""
    found = re.findall(r'<a href="([^"]+)" class="facet-item[^"]*"[^>]*>.*?<span class="label">([^<]+)</span>', page)
    return {label: html.unescape(href) for href, label in found}


def test_results_link_to_entry_pages_and_show_open_type(client, world):
    page = client.get("/catalog").text
    assert names(page) == ["hospitals", "taxi-trips", "bus-stops"]  # newest first without words
    assert '<a href="/datasets/bus-stops">公交站点位置信息</a>' in page
    assert '<span class="tag warn">有条件开放</span>' in page and '<span class="tag ok">无条件开放</span>' in page
    assert 'name="viewport"' in page


def test_chinese_query_with_spaces(client, world):
    page = client.get("/catalog", params={"q": "公交 站点"}).text
    assert names(page) == ["bus-stops"]
    assert 'value="公交 站点"' in page


def test_facet_links_tick_and_untick(client, world):
    page = client.get("/catalog").text
    target = links(page)["JSON"]
    assert target == "/catalog?format=JSON"
    ticked = client.get(target).text
    assert names(ticked) == ["taxi-trips"]
    assert re.search(r'class="facet-item selected" role="checkbox" aria-checked="true"[^>]*>'
                     r'<span class="box" aria-hidden="true"></span><span class="label">JSON', ticked)
    # The other format stays offered with its own count; ticking it widens the results.
    both = client.get(links(ticked)["XLSX"]).text
    assert sorted(names(both)) == ["hospitals", "taxi-trips"]
    assert names(client.get(links(both)["JSON"]).text) == ["hospitals"]
    assert "清除全部筛选" in ticked


def test_filters_combine_with_words_and_keep_them(client, world):
    page = client.get("/catalog", params={"q": "公交", "provider": "transport"}).text
    assert names(page) == ["bus-stops"]
    assert links(page)["无条件开放"] == "/catalog?q=%E5%85%AC%E4%BA%A4&provider=transport&open_type=unconditional"
    # Unticking the provider keeps the words.
    assert links(page)["市交通运输局"] == "/catalog?q=%E5%85%AC%E4%BA%A4"


def test_sort_orders(client, world):
    assert names(client.get("/catalog?sort=most_used").text)[0] == "hospitals"
    assert names(client.get("/catalog?sort=newest").text) == ["hospitals", "taxi-trips", "bus-stops"]
    bogus = client.get("/catalog?sort=bogus&page=abc")
    assert bogus.status_code == 200 and len(names(bogus.text)) == 3


def test_paging(client, world, session):
    org, staff = world["transport"], world["staff"]["transport"]
    for i in range(25):
        make_entry(session, staff, org, f"road-{i:02d}", title=f"道路养护记录{i}", summary="道路", keywords=[],
                   items=[], when=T0 + dt.timedelta(days=10 + i))
    session.commit()
    first = client.get("/catalog", params={"q": "道路"}).text
    assert len(names(first)) == 20 and 'rel="next"' in first and "25 个数据集" in first
    second = client.get("/catalog", params={"q": "道路", "page": 2}).text
    assert len(names(second)) == 5 and 'rel="prev"' in second and 'rel="next"' not in second
    assert not set(names(first)) & set(names(second))


def test_english_labels(client, world):
    page = client.get("/catalog", params={"lang": "en"}).text
    assert "Licensed medical institutions" in page and "Health Commission" in page
    assert "3 datasets" in page and "Open type" in page and "Unconditional" in page


def test_nothing_found(client, world):
    page = client.get("/catalog", params={"q": "火星基地"}).text
    assert names(page) == [] and "没有找到符合条件的数据集" in page
