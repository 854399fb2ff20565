"""Chinese identifiers: format and check-digit validation (GB 11643, GB 32100, GB 11714).

python-stdnum's ``cn.ric`` rejects many current county codes and ``cn.uscc`` rejects codes whose
registering authority is A, N or Y, so these small checks are our own.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
USCC_AUTHORITIES = set("123456789ANY")
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_RESIDENT_18 = re.compile(r"^\d{17}[\dX]$")
_RESIDENT_15 = re.compile(r"^\d{15}$")
_USCC = re.compile(rf"^[{USCC_ALPHABET}]{{18}}$")
_ORG_CODE = re.compile(r"^[0-9A-Z]{8}-?[0-9X]$")


class Problem(StrEnum):
    """Why a value is not a valid identifier; the web layer turns these into sentences."""

    EMPTY = "empty"
    FORMAT = "format"
    REGION = "region"
    BIRTH_DATE = "birth_date"
    CHECK = "check"
    AUTHORITY = "authority"


@dataclass(frozen=True)
class Check:
    value: str
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


def resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK[total % 11]


def _real_date(year: int, month: int, day: int, today: dt.date | None = None) -> bool:
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= (today or dt.date.today())


def check_resident_id(raw: str, today: dt.date | None = None) -> Check:
    """An 18-character ID (MOD 11-2) or a legacy 15-digit one (no check digit)."""
    value = compact(raw)
    if not value:
        return Check(value, Problem.EMPTY)
    if _RESIDENT_15.match(value):
        if not 11 <= int(value[:2]) <= 82:
            return Check(value, Problem.REGION)
        year, month, day = 1900 + int(value[6:8]), int(value[8:10]), int(value[10:12])
        return Check(value, None if _real_date(year, month, day, today) else Problem.BIRTH_DATE)
    if not _RESIDENT_18.match(value):
        return Check(value, Problem.FORMAT)
    # Foreign permanent residence IDs (2023) start with 9; others name a province 11–82.
    if value[0] != "9" and not 11 <= int(value[:2]) <= 82:
        return Check(value, Problem.REGION)
    if not _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]), today):
        return Check(value, Problem.BIRTH_DATE)
    if resident_id_check_char(value[:17]) != value[17]:
        return Check(value, Problem.CHECK)
    return Check(value)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def check_uscc(raw: str) -> Check:
    """Unified social credit code, GB 32100-2015."""
    value = compact(raw)
    if not value:
        return Check(value, Problem.EMPTY)
    if not _USCC.match(value) or not value[2:8].isdigit():
        return Check(value, Problem.FORMAT)
    if value[0] not in USCC_AUTHORITIES:
        return Check(value, Problem.AUTHORITY)
    if uscc_check_char(value[:17]) != value[17]:
        return Check(value, Problem.CHECK)
    return Check(value)


def org_code_check_char(first8: str) -> str:
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(first8, ORG_CODE_WEIGHTS, strict=True)
    )
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def check_org_code(raw: str) -> Check:
    """Organisation code, GB 11714 (the 9th–17th characters of a credit code)."""
    value = (raw or "").strip().upper()
    if not value:
        return Check(value, Problem.EMPTY)
    if not _ORG_CODE.match(value):
        return Check(value, Problem.FORMAT)
    digits = value.replace("-", "")
    if org_code_check_char(digits[:8]) != digits[8]:
        return Check(value, Problem.CHECK)
    return Check(value)


def mask_resident_id(value: str) -> str:
    """Government publication convention: keep the region and the last four, hide the birth date."""
    v = compact(value)
    return v[:6] + "*" * (len(v) - 10) + v[-4:] if len(v) > 10 else "*" * len(v)


def mask_keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]
