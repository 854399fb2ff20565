"""Shipped jurisdiction profiles load, validate and carry the differences their articles set."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kaifang.config import Settings
from kaifang.policy import profiles
from kaifang.policy.profiles import (
    Approver,
    ClockName,
    Profile,
    ProfileError,
    TimeUnit,
    available_profiles,
    load_profile,
)

SHIPPED = {"national", "shanghai", "chongqing", "guiyang", "lianyungang", "lianyungang-guide"}


def test_every_shipped_profile_is_available() -> None:
    assert set(available_profiles()) == SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_profile_loads_with_every_clock_sourced(name: str) -> None:
    profile = load_profile(name)
    assert profile.key == name
    assert set(profile.clocks) == set(ClockName)
    assert all(clock.source for clock in profile.clocks.values())
    assert profile.name_zh and profile.name_en


def test_default_setting_names_a_shipped_profile() -> None:
    assert Settings().jurisdiction in available_profiles()


def test_national_disclosure_is_20_plus_20() -> None:
    reply = load_profile("national").clock("disclosure_reply")
    assert (reply.amount, reply.unit, reply.extension_amount) == (20, TimeUnit.WORKDAYS, 20)
    assert reply.extension_approver is Approver.DISCLOSURE_OFFICE_HEAD


def test_lianyungang_guide_disclosure_is_15_plus_15_without_fees() -> None:
    guide = load_profile("lianyungang-guide")
    reply = guide.clock(ClockName.DISCLOSURE_REPLY)
    assert (reply.amount, reply.extension_amount) == (15, 15)
    assert not guide.fees.charged
    assert guide.extends == "lianyungang"
    # The measures-based profile stays on the 2019 Regulation.
    assert load_profile("lianyungang").clock("disclosure_reply").amount == 20


def test_chongqing_reviews_agreements_and_requires_verification() -> None:
    chongqing = load_profile("chongqing")
    assert chongqing.steps.agreement_authority_review
    assert chongqing.unconditional_requires_verification
    objection = chongqing.clock("objection_verification")
    assert (objection.amount, objection.extension_amount) == (10, 10)
    assert objection.extension_approver is Approver.PROVIDER_HEAD


def test_lianyungang_needs_no_verification_for_unconditional_data() -> None:
    assert not load_profile("lianyungang").unconditional_requires_verification
    assert not load_profile("national").steps.agreement_authority_review


def test_guiyang_counts_directory_changes_in_natural_days() -> None:
    guiyang = load_profile("guiyang")
    for name in ("directory_adjustment", "catalog_change_filing"):
        clock = guiyang.clock(name)
        assert (clock.amount, clock.unit) == (15, TimeUnit.DAYS)
        assert clock.source.startswith("GY 13")


@pytest.mark.parametrize(("name", "amount"), [
    ("application_evaluation", 10), ("objection_verification", 10),
    ("catalog_change_filing", 10), ("catalog_change_review", 5),
    ("disclosure_supplement_request", 7), ("proactive_disclosure", 20),
    ("third_party_opinion", 15), ("contact_reply", 10),
])
def test_national_working_day_clocks(name: str, amount: int) -> None:
    clock = load_profile("national").clock(name)
    assert (clock.amount, clock.unit) == (amount, TimeUnit.WORKDAYS)


def test_profiles_are_cached() -> None:
    assert load_profile("chongqing") is load_profile("chongqing")


@pytest.mark.parametrize("name", ["beijing", "../national", "National", ""])
def test_unknown_profile_names_the_available_ones(name: str) -> None:
    with pytest.raises(ProfileError, match="available: chongqing, guiyang"):
        load_profile(name)


def _national_data() -> dict[str, Any]:
    return load_profile("national").model_dump(mode="json")


def test_a_missing_clock_is_refused() -> None:
    data = _national_data()
    del data["clocks"]["contact_reply"]
    with pytest.raises(ValidationError, match="clocks missing: contact_reply"):
        Profile.model_validate(data)


def test_a_misspelt_setting_is_refused() -> None:
    data = _national_data()
    data["steps"]["agreement_review"] = True
    with pytest.raises(ValidationError, match="agreement_review"):
        Profile.model_validate(data)


def test_an_extension_needs_its_approver() -> None:
    data = _national_data()
    data["clocks"]["disclosure_reply"]["extension_approver"] = None
    with pytest.raises(ValidationError, match="go together"):
        Profile.model_validate(data)


def test_fee_bands_must_rise() -> None:
    data = _national_data()
    data["fees"]["per_page"]["bands"] = [{"up_to": 200, "price": 20}, {"up_to": 100, "price": 10}]
    with pytest.raises(ValidationError, match="band limits"):
        Profile.model_validate(data)


def test_child_clock_replaces_the_inherited_one_whole() -> None:
    parent = {"clocks": {"a": {"amount": 20, "extension_amount": 20}}, "steps": {"x": 1, "y": 2}}
    child = {"clocks": {"a": {"amount": 15}}, "steps": {"y": 3}}
    merged = profiles._merge_profile(parent, child)
    assert merged == {"clocks": {"a": {"amount": 15}}, "steps": {"x": 1, "y": 3}}


def test_extension_loops_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"a": {"extends": "b"}, "b": {"extends": "a"}}
    monkeypatch.setattr(profiles, "_raw", lambda name: dict(files[name]))
    with pytest.raises(ProfileError, match="a → b → a"):
        profiles._merged_data("a", chain=())
