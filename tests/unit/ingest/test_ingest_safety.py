"""Neutralising spreadsheet formulas in exported cells."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kaifang.ingest import neutralise_array, neutralise_cell


@pytest.mark.parametrize("value, expected", [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1,1)", "'@SUM(1,1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-12.5", "-12.5"),
    ("+86", "+86"),
    ("1e-3", "1e-3"),
    ("张三", "张三"),
    ("a=b", "a=b"),
    ("", ""),
    (None, None),
    (42, 42),
])
def test_neutralise_cell(value, expected):
    assert neutralise_cell(value) == expected


def test_neutralise_array_matches_the_cell_function():
    values = ["=1+1", "-12.5", "@x", "ok", None, "-x", "\tfoo"]
    out = neutralise_array(pa.array(values)).to_pylist()
    assert out == [neutralise_cell(v) for v in values]
    numbers = pa.array([1, 2])
    assert neutralise_array(numbers) is numbers
