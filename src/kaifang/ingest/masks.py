"""Masking conventions per kind, as SQL (for whole columns) and as Python (for the few example
values shown in reports). Tests check both agree.

ID numbers keep the region and the last four (government publication practice); the others follow
the common defaults (Hutool): mobile 3 + 4, bank card 4 + 4, the last 8 characters of an address
hidden, the first character of an e-mail's local part kept, the middle of a plate hidden.
"""

from __future__ import annotations

import re

from kaifang.identifiers import mask_keep
from kaifang.ingest.kinds import Kind

# (head, tail) kept for kinds masked by position; the rest have their own rule below.
KEEP: dict[Kind, tuple[int, int]] = {
    Kind.RESIDENT_ID: (6, 4),
    Kind.MOBILE: (3, 4),
    Kind.LANDLINE: (4, 2),
    Kind.BANK_CARD: (4, 4),
    Kind.PLATE: (3, 1),
    Kind.PASSPORT: (2, 2),
    Kind.HK_MACAU_PERMIT: (2, 2),
    Kind.USCC: (6, 4),
    Kind.ORG_CODE: (2, 2),
}
COMPACTED = (Kind.RESIDENT_ID, Kind.BANK_CARD, Kind.USCC, Kind.PASSPORT, Kind.HK_MACAU_PERMIT,
             Kind.MOBILE)
DEFAULT_KEEP = (1, 1)
ADDRESS_HIDDEN = 8


def mask_value(kind: Kind | None, value: str, head: int | None = None,
               tail: int | None = None) -> str:
    """One value masked by the convention of ``kind`` (or by ``head``/``tail`` if given)."""
    if head is not None or tail is not None:
        return mask_keep(value.strip(), head or 0, tail or 0)
    text = value.strip()
    if kind in COMPACTED:
        text = text.replace(" ", "").replace("-", "").upper()
    if kind is Kind.MOBILE and re.fullmatch(r"\+?86\d{11}", text):
        text = text[-11:]
    if kind is Kind.PERSON_NAME:
        return text[:1] + "*" * (len(text) - 1)
    if kind is Kind.ADDRESS:
        return text[:-ADDRESS_HIDDEN] + "*" * min(ADDRESS_HIDDEN, len(text))
    if kind is Kind.EMAIL and text.find("@") > 0:
        at = text.index("@")
        return text[:1] + "*" * (at - 1) + text[at:]
    if kind is Kind.IPV4 and "." in text:
        return text.split(".", 1)[0] + ".*.*.*"
    keep_head, keep_tail = KEEP.get(kind, DEFAULT_KEEP) if kind else DEFAULT_KEEP
    return mask_keep(text, keep_head, keep_tail)


def keep_sql(v: str, head: int, tail: int) -> str:
    return (
        f"(CASE WHEN length({v}) > {head + tail} THEN left({v}, {head}) || "
        f"repeat('*', length({v}) - {head + tail}) || right({v}, {tail}) "
        f"ELSE repeat('*', length({v})) END)"
    )


def mask_sql(kind: Kind | None, v: str, head: int | None = None, tail: int | None = None) -> str:
    """SQL masking the VARCHAR expression ``v`` like ``mask_value``; NULL stays NULL."""
    text = f"trim({v})"
    if head is not None or tail is not None:
        return keep_sql(text, head or 0, tail or 0)
    if kind in COMPACTED:  # literal replaces: several times faster than a regex per value
        text = f"upper(replace(replace({text}, ' ', ''), '-', ''))"
    if kind is Kind.MOBILE:
        text = (f"(CASE WHEN regexp_full_match({text}, '\\+?86[0-9]{{11}}') "
                f"THEN right({text}, 11) ELSE {text} END)")
    if kind is Kind.PERSON_NAME:
        return f"(left({text}, 1) || repeat('*', length({text}) - 1))"
    if kind is Kind.ADDRESS:
        return (f"(left({text}, greatest(length({text}) - {ADDRESS_HIDDEN}, 0)) || "
                f"repeat('*', least({ADDRESS_HIDDEN}, length({text}))))")
    if kind is Kind.EMAIL:
        at = f"strpos({text}, '@')"
        return (f"(CASE WHEN {at} > 1 THEN left({text}, 1) || repeat('*', {at} - 2) || "
                f"substr({text}, {at}) ELSE {keep_sql(text, *DEFAULT_KEEP)} END)")
    if kind is Kind.IPV4:
        return (f"(CASE WHEN strpos({text}, '.') > 0 THEN split_part({text}, '.', 1) || '.*.*.*' "
                f"ELSE {keep_sql(text, *DEFAULT_KEEP)} END)")
    keep_head, keep_tail = KEEP.get(kind, DEFAULT_KEEP) if kind else DEFAULT_KEEP
    return keep_sql(text, keep_head, keep_tail)
