"""Disclosure processing fees (国办函〔2020〕109号, summarised in reference/disclosure.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaifang.policy.fees import disclosure_fee, total_price, unit_price
from kaifang.policy.profiles import FeeMode, load_profile

NATIONAL = load_profile("national")


@pytest.mark.parametrize(("rank", "fee"), [
    (1, 0), (10, 0),                # up to 10 requests a month: free
    (11, 100), (30, 100),           # 11–30: ¥100 each
    (31, 200), (40, 200),           # then +¥100 for every further band of 10
    (41, 300), (50, 300), (51, 400),
])
def test_per_request_fee(rank: int, fee: int) -> None:
    assert disclosure_fee(NATIONAL, rank, 0, FeeMode.PER_REQUEST) == Decimal(fee)


@pytest.mark.parametrize(("pages", "fee"), [
    (0, 0), (30, 0),                # up to 30 pages: free
    (31, 10), (100, 700),           # pages 31–100: ¥10 each → 70 × 10
    (101, 720), (200, 2700),        # pages 101–200: ¥20 each → 700 + 100 × 20
    (201, 2740), (250, 4700),       # over 200: ¥40 each → 2700 + 50 × 40
])
def test_per_page_fee(pages: int, fee: int) -> None:
    assert disclosure_fee(NATIONAL, 1, pages, "per_page") == Decimal(fee)


def test_the_two_modes_never_add_up() -> None:
    assert disclosure_fee(NATIONAL, 11, 500, "per_request") == Decimal(100)
    assert disclosure_fee(NATIONAL, 50, 30, "per_page") == Decimal(0)


def test_lianyungang_guide_charges_nothing() -> None:
    guide = load_profile("lianyungang-guide")
    assert disclosure_fee(guide, 99, 0, "per_request") == 0
    assert disclosure_fee(guide, 1, 999, "per_page") == 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        disclosure_fee(NATIONAL, 0, 0, "per_request")
    with pytest.raises(ValueError, match="not negative"):
        disclosure_fee(NATIONAL, 1, -1, "per_page")
    with pytest.raises(ValueError, match="per_item"):
        disclosure_fee(NATIONAL, 1, 1, "per_item")


@given(units=st.integers(min_value=0, max_value=400))
def test_total_is_the_sum_of_unit_prices(units: int) -> None:
    for scale in (NATIONAL.fees.per_page, NATIONAL.fees.per_request):
        assert total_price(scale, units) == sum(
            (unit_price(scale, rank) for rank in range(1, units + 1)), Decimal(0))
