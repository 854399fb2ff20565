"""What the application and decision forms carry, as plain values, and their checks.

Every check names its field, so a page shows the message beside what was typed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kaifang.errors import FieldErrors
from kaifang.i18n import N_, _

MAX_TEXT = 5000
MAX_USE_DAYS = 366 * 5
# Usage feedback the agreement may ask for (LYG 24), in months; 0 = none.
FEEDBACK_CHOICES: dict[int, str] = {
    0: N_("No usage feedback"), 1: N_("Monthly"), 3: N_("Quarterly"), 6: N_("Half-yearly"), 12: N_("Yearly"),
}
VALUE_SPLIT = re.compile(r"\s*[,，、;；]\s*")


@dataclass(frozen=True)
class ApplicationInput:
    columns: Sequence[str]
    modes: Sequence[str]
    purpose: str
    scenario: str
    security_measures: str
    use_from: str
    use_until: str
    renews_grant_id: str = ""


@dataclass(frozen=True)
class ConditionInput:
    column: str
    op: str
    value: str

    @property
    def blank(self) -> bool:
        return not (self.column or self.value) and self.op in ("", "eq")

    def as_dict(self) -> dict[str, Any]:
        """The stored form ``kaifang.access.query.condition_from_dict`` reads back."""
        value: Any = self.value
        if self.op == "in":
            value = [v for v in VALUE_SPLIT.split(self.value.strip()) if v]
        elif self.op == "isnull":
            value = self.value.strip().lower() not in ("false", "0", "no", "否")
        return {"column": self.column, "op": self.op, "value": value}


@dataclass(frozen=True)
class DecisionInput:
    columns: Sequence[str]
    modes: Sequence[str]
    valid_from: str
    valid_until: str
    feedback_every_months: str
    conditions: Sequence[ConditionInput] = field(default_factory=tuple)
    note: str = ""


def parse_date(errors: FieldErrors, name: str, text: str) -> dt.date | None:
    if not text.strip():
        errors.add(name, _("This field is required."))
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        errors.add(name, _("Give a date as YYYY-MM-DD."))
        return None


def check_text(errors: FieldErrors, name: str, value: str, limit: int = MAX_TEXT) -> None:
    if not value.strip():
        errors.add(name, _("This field is required."))
    elif len(value) > limit:
        errors.add(name, _("At most %(max)s characters.", max=limit))


def check_period(errors: FieldErrors, start_name: str, start: dt.date | None, end_name: str,
                 end: dt.date | None, today: dt.date) -> None:
    if start is None or end is None:
        return
    if end < start:
        errors.add(end_name, _("The end of the period cannot be before its start."))
    elif end < today:
        errors.add(end_name, _("The period is over already."))
    elif (end - start).days > MAX_USE_DAYS:
        errors.add(end_name, _("At most five years."))


def check_choice(errors: FieldErrors, name: str, chosen: Sequence[str], offered: Sequence[str],
                 empty: str, other: str) -> None:
    if not chosen:
        errors.add(name, empty)
    elif not set(chosen) <= set(offered):
        errors.add(name, other)


def parse_feedback(errors: FieldErrors, text: str) -> int:
    try:
        months = int(text or "0")
    except ValueError:
        months = -1
    if months not in FEEDBACK_CHOICES:
        errors.add("feedback_every_months", _("Choose one of the offered intervals."))
        return 0
    return months
