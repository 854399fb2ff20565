"""Processing fees for disclosure requests (2019 Regulation Art. 42; 国办函〔2020〕109号).

Free as a rule: a fee applies only beyond a reasonable volume, charged either per request or per
page — never both — and a profile may switch fees off altogether (Lianyungang guide).
"""

from __future__ import annotations

from decimal import Decimal

from kaifang.policy.profiles import FeeMode, FeeScale, Profile

ZERO = Decimal(0)


def disclosure_fee(
    profile: Profile, requests_this_month: int, pages: int, mode: FeeMode | str
) -> Decimal:
    """The fee of one request, in yuan.

    ``requests_this_month`` is this request's rank among the same applicant's requests in the
    calendar month, itself included (the 11th request costs ¥100); ``pages`` is the number of
    pages provided for this request (progressive: pages 31–100 at ¥10, the next at ¥20…).
    """
    if requests_this_month < 1 or pages < 0:
        raise ValueError("requests_this_month must be at least 1 and pages not negative")
    rules = profile.fees
    if not rules.charged:
        return ZERO
    if FeeMode(mode) is FeeMode.PER_REQUEST:
        return unit_price(rules.per_request, requests_this_month)
    return total_price(rules.per_page, pages)


def unit_price(scale: FeeScale, rank: int) -> Decimal:
    """The price of the ``rank``-th unit (1-based)."""
    if rank <= scale.free_up_to:
        return ZERO
    for band in scale.bands:
        if rank <= band.up_to:
            return band.price
    beyond = rank - scale.last_limit
    raises = (beyond - 1) // scale.beyond_step if scale.beyond_step else 0
    return scale.beyond_price + raises * scale.beyond_increase


def total_price(scale: FeeScale, units: int) -> Decimal:
    """The price of units 1..``units`` together, each charged at its own band's rate."""
    total, lower = ZERO, scale.free_up_to
    for band in scale.bands:
        total += max(min(units, band.up_to) - lower, 0) * band.price
        lower = band.up_to
    return total + _beyond_total(scale, max(units - scale.last_limit, 0))


def _beyond_total(scale: FeeScale, count: int) -> Decimal:
    if not scale.beyond_step:
        return count * scale.beyond_price
    full_groups, rest = divmod(count, scale.beyond_step)
    # Group g (0-based) costs beyond_price + g × beyond_increase per unit.
    group_sum = full_groups * scale.beyond_price + scale.beyond_increase * (
        full_groups * (full_groups - 1) // 2)
    last_price = scale.beyond_price + full_groups * scale.beyond_increase
    return scale.beyond_step * group_sum + rest * last_price
