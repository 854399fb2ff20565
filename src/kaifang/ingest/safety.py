"""Neutralise spreadsheet formulas in exported cells (CSV injection, OWASP).

A cell starting with = + - @ (or a tab or carriage return, which some spreadsheets skip before
such a character) is prefixed with an apostrophe so spreadsheets show it as text. Plain numbers
such as -12.5 or +86 are left alone: spreadsheets read them as numbers, never as formulas, and
changing them would corrupt numeric data.
"""

from __future__ import annotations

import re
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_NUMBER_RE = re.compile(_NUMBER)
T = TypeVar("T")


def neutralise_cell(value: T) -> T | str:
    """``value`` itself, or ``"'" + value`` when a spreadsheet could run it as a formula."""
    if isinstance(value, str) and value.startswith(TRIGGERS) and not _NUMBER_RE.match(value):
        return "'" + value
    return value


def neutralise_array(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """The same for a whole string column, with Arrow kernels (for streaming exports)."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values
    # A first-character test is ten times cheaper than the regular expressions; most batches of
    # real data have no candidate at all and pass through unchanged.
    candidates = pc.is_in(pc.utf8_slice_codeunits(values, 0, 1), value_set=pa.array(TRIGGERS, values.type))
    if not pc.any(candidates).as_py():
        return values
    risky = pc.and_(candidates, pc.invert(pc.match_substring_regex(values, _NUMBER)))
    prefixed = pc.binary_join_element_wise(pa.scalar("'", values.type), values, pa.scalar("", values.type))
    return pc.if_else(risky, prefixed, values)
