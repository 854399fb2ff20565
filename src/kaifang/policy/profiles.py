"""Jurisdiction profiles: deadlines, steps, access and fee rules read from TOML, validated at load.

The values live only in ``profiles/*.toml``; the models here hold no policy defaults, so a value
missing from ``national.toml`` (the root every profile extends) is an error, not a silent guess.
"""

from __future__ import annotations

import re
import tomllib
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DEFAULT_PROFILE = "national"


class ProfileError(ValueError):
    """A profile that does not exist or does not validate; raised at start-up, not per request."""


class TimeUnit(StrEnum):
    WORKDAYS = "workdays"
    DAYS = "days"  # natural days, the last one moved off a holiday (Civil Code Art. 203)


class Approver(StrEnum):
    PROVIDER_HEAD = "provider_head"  # 数据开放主体主要负责人 (CQ 22)
    DISCLOSURE_OFFICE_HEAD = "disclosure_office_head"  # 政府信息公开工作机构负责人 (Art. 33)


class ClockName(StrEnum):
    APPLICATION_EVALUATION = "application_evaluation"
    OBJECTION_VERIFICATION = "objection_verification"
    CATALOG_CHANGE_FILING = "catalog_change_filing"
    CATALOG_CHANGE_REVIEW = "catalog_change_review"
    DIRECTORY_ADJUSTMENT = "directory_adjustment"
    DISCLOSURE_REPLY = "disclosure_reply"
    DISCLOSURE_SUPPLEMENT_REQUEST = "disclosure_supplement_request"
    PROACTIVE_DISCLOSURE = "proactive_disclosure"
    THIRD_PARTY_OPINION = "third_party_opinion"
    CONTACT_REPLY = "contact_reply"
    USAGE_FEEDBACK = "usage_feedback"


class FeeMode(StrEnum):
    PER_REQUEST = "per_request"
    PER_PAGE = "per_page"


class _Strict(BaseModel):
    # Unknown keys are refused so that a misspelt setting fails loudly instead of being ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Clock(_Strict):
    amount: int = Field(gt=0)
    unit: TimeUnit
    extension_amount: int | None = Field(default=None, gt=0)
    extension_approver: Approver | None = None
    source: str = Field(min_length=1)

    @model_validator(mode="after")
    def _extension_complete(self) -> Clock:
        if (self.extension_amount is None) != (self.extension_approver is None):
            raise ValueError("extension_amount and extension_approver go together")
        return self

    @property
    def extendable(self) -> bool:
        return self.extension_amount is not None


class Steps(_Strict):
    open_list_review: bool
    catalog_change_review: bool
    data_use_agreement: bool
    agreement_authority_review: bool
    dispute_mediation: bool

    @model_validator(mode="after")
    def _review_needs_agreement(self) -> Steps:
        if self.agreement_authority_review and not self.data_use_agreement:
            raise ValueError("agreement_authority_review needs data_use_agreement")
        return self


class FeeBand(_Strict):
    up_to: int = Field(gt=0)
    price: Decimal = Field(ge=0)


class FeeScale(_Strict):
    """Units 1..free_up_to are free; then each band's price applies up to its ``up_to``; beyond the
    last band each unit costs ``beyond_price``, raised by ``beyond_increase`` for every further
    ``beyond_step`` units (0 = flat)."""

    free_up_to: int = Field(ge=0)
    bands: list[FeeBand]
    beyond_price: Decimal = Field(ge=0)
    beyond_step: int = Field(ge=0)
    beyond_increase: Decimal = Field(ge=0)

    @model_validator(mode="after")
    def _bands_ascending(self) -> FeeScale:
        limits = [self.free_up_to, *(band.up_to for band in self.bands)]
        if any(low >= high for low, high in pairwise(limits)):
            raise ValueError("band limits must rise above free_up_to and each other")
        return self

    @property
    def last_limit(self) -> int:
        return self.bands[-1].up_to if self.bands else self.free_up_to


class FeeRules(_Strict):
    charged: bool
    source: str = Field(min_length=1)
    per_request: FeeScale
    per_page: FeeScale


class Reminders(_Strict):
    lead_workdays: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _positive_descending(self) -> Reminders:
        days = self.lead_workdays
        if any(d <= 0 for d in days) or days != sorted(set(days), reverse=True):
            raise ValueError("lead_workdays must be positive, distinct and in descending order")
        return self


class Profile(_Strict):
    key: str
    extends: str | None
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    sources: list[str] = Field(min_length=1)
    unconditional_requires_verification: bool
    steps: Steps
    clocks: dict[ClockName, Clock]
    fees: FeeRules
    reminders: Reminders

    @model_validator(mode="after")
    def _every_clock(self) -> Profile:
        missing = sorted(set(ClockName) - set(self.clocks))
        if missing:
            raise ValueError(f"clocks missing: {', '.join(missing)}")
        return self

    def clock(self, name: ClockName | str) -> Clock:
        return self.clocks[ClockName(name)]


def available_profiles() -> list[str]:
    folder = resources.files("kaifang.policy").joinpath("profiles")
    return sorted(item.name.removesuffix(".toml") for item in folder.iterdir()
                  if item.name.endswith(".toml"))


@cache
def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """The named profile merged over the profiles it extends; cached, so treat it as read-only."""
    merged = _merged_data(name, chain=())
    try:
        return Profile.model_validate({**merged, "key": name, "extends": _raw(name).get("extends")})
    except ValidationError as exc:
        raise ProfileError(f"jurisdiction profile {name!r} is invalid:\n{exc}") from exc


def _raw(name: str) -> dict[str, Any]:
    if not PROFILE_NAME.match(name) or name not in available_profiles():
        known = ", ".join(available_profiles())
        raise ProfileError(f"unknown jurisdiction profile {name!r}; available: {known}")
    text = resources.files("kaifang.policy").joinpath("profiles", f"{name}.toml").read_text("utf-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"jurisdiction profile {name!r} is not valid TOML: {exc}") from exc


def _merged_data(name: str, chain: tuple[str, ...]) -> dict[str, Any]:
    if name in chain:
        loop = " → ".join((*chain, name))
        raise ProfileError(f"jurisdiction profiles extend each other in a loop: {loop}")
    data = _raw(name)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    return _merge_profile(_merged_data(parent, (*chain, name)), data)


def _merge_profile(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """A child's clock replaces the inherited clock whole, so each one states its own source;
    everything else merges table by table."""
    child_clocks = child.pop("clocks", {})
    merged = _deep_merge(parent, child)
    merged["clocks"] = {**parent.get("clocks", {}), **child_clocks}
    return merged


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (lists included) replaces the inherited one."""
    result = dict(base)
    for key, value in override.items():
        inherited = result.get(key)
        if isinstance(value, dict) and isinstance(inherited, dict):
            result[key] = _deep_merge(inherited, value)
        else:
            result[key] = value
    return result
