"""Validation of catalog entry input; every problem names its field, in the user's language."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from kaifang.catalog.vocab import (
    FORMATS,
    AccessMode,
    ItemType,
    OpenType,
    SecurityGrade,
    Sensitivity,
    ShareType,
    UpdateFrequency,
)
from kaifang.errors import FieldErrors
from kaifang.i18n import _

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")
ITEM_NAME = re.compile(r"^[^\s,;\"'`]{1,100}$")
MAX_ITEMS = 500


@dataclass
class DataItemInput:
    name: str
    type: str
    title: str = ""
    description: str = ""
    sensitivity: str = Sensitivity.NONE


@dataclass
class EntryInput:
    name: str
    title: str
    summary: str
    domain_code: str
    open_type: str
    update_frequency: str
    title_en: str = ""
    open_conditions: str = ""
    legal_basis: str = ""
    security_grade: str = SecurityGrade.PUBLIC
    access_modes: list[str] = field(default_factory=list)
    share_type: str = ShareType.UNCONDITIONAL
    share_conditions: str = ""
    licence: str = ""
    formats: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    temporal_start: str = ""
    temporal_end: str = ""
    spatial_coverage: str = ""
    annual_focus: bool = False
    items: list[DataItemInput] = field(default_factory=list)

    def validate(self, domain_codes: set[str]) -> tuple[dt.date | None, dt.date | None]:
        """Raises ValidationFailed naming every bad field; returns the parsed coverage dates."""
        errors = FieldErrors()
        self._check_identity(errors, domain_codes)
        self._check_openness(errors)
        dates = self._check_coverage(errors)
        self._check_items(errors)
        errors.raise_if_any()
        return dates

    def _check_identity(self, errors: FieldErrors, domain_codes: set[str]) -> None:
        if not NAME.match(self.name):
            errors.add("name", _("2–100 lower-case letters, digits, dashes or underscores."))
        if not self.title.strip():
            errors.add("title", _("This field is required."))
        elif len(self.title) > 200:
            errors.add("title", _("At most %(n)s characters.", n=200))
        if len(self.summary) > 10000:
            errors.add("summary", _("At most %(n)s characters.", n=10000))
        if self.domain_code not in domain_codes:
            errors.add("domain_code", _("Choose a domain."))
        if self.update_frequency not in set(UpdateFrequency):
            errors.add("update_frequency", _("Choose how often the data is updated."))
        bad_formats = [f for f in self.formats if f not in FORMATS]
        if bad_formats:
            errors.add("formats", _("Unknown formats: %(names)s", names=", ".join(bad_formats)))
        if len(self.keywords) > 30 or any(len(k) > 50 for k in self.keywords):
            errors.add("keywords", _("At most 30 keywords of at most 50 characters."))

    def _check_openness(self, errors: FieldErrors) -> None:
        if self.open_type not in set(OpenType):
            errors.add("open_type", _("Choose the open type."))
        elif self.open_type != OpenType.UNCONDITIONAL and not self.legal_basis.strip():
            # CQ 12: conditional and non-open entries must cite the law or rule behind them.
            errors.add("legal_basis", _("Conditional and non-open entries must state their legal basis."))
        if self.open_type == OpenType.CONDITIONAL and not self.open_conditions.strip():
            errors.add("open_conditions", _("State the conditions under which the data is opened."))
        if self.security_grade not in set(SecurityGrade):
            errors.add("security_grade", _("Choose a security grade."))
        if self.share_type not in set(ShareType):
            errors.add("share_type", _("Choose how the data is shared."))
        elif self.share_type == ShareType.CONDITIONAL and not self.share_conditions.strip():
            errors.add("share_conditions", _("State the conditions under which the data is shared."))
        bad_modes = [m for m in self.access_modes if m not in set(AccessMode)]
        if bad_modes:
            errors.add("access_modes", _("Unknown access modes: %(names)s", names=", ".join(bad_modes)))
        elif self.open_type != OpenType.NON_OPEN and not self.access_modes:
            errors.add("access_modes", _("Choose at least one access mode."))

    def _check_coverage(self, errors: FieldErrors) -> tuple[dt.date | None, dt.date | None]:
        parsed: list[dt.date | None] = []
        for name, value in (("temporal_start", self.temporal_start), ("temporal_end", self.temporal_end)):
            try:
                parsed.append(dt.date.fromisoformat(value) if value else None)
            except ValueError:
                errors.add(name, _("Enter a date as YYYY-MM-DD."))
                parsed.append(None)
        start, end = parsed
        if start and end and end < start:
            errors.add("temporal_end", _("The end of the period is before its start."))
        return start, end

    def _check_items(self, errors: FieldErrors) -> None:
        if len(self.items) > MAX_ITEMS:
            errors.add("items", _("At most %(n)s data items.", n=MAX_ITEMS))
            return
        seen: set[str] = set()
        for index, item in enumerate(self.items, start=1):
            label = f"items.{index}"
            if not ITEM_NAME.match(item.name):
                errors.add(label, _("Data item %(n)s: give a name without spaces or quotes.", n=index))
            elif item.name in seen:
                errors.add(label, _("Data item %(n)s: the name %(name)s is used twice.", n=index, name=item.name))
            seen.add(item.name)
            if item.type not in set(ItemType):
                errors.add(label, _("Data item %(n)s: choose a type.", n=index))
            if item.sensitivity not in set(Sensitivity):
                errors.add(label, _("Data item %(n)s: choose a sensitivity.", n=index))
