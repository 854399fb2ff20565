import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kaifang.identifiers import (
    Problem,
    check_org_code,
    check_resident_id,
    check_uscc,
    mask_resident_id,
    resident_id_check_char,
    uscc_check_char,
)

# Vectors from shared reference/identifiers.md (GB 11643-1999, GB 32100-2015, GB 11714).
VALID_IDS = ["11010519491231002X", "360426199101010071"]


@pytest.mark.parametrize("value", VALID_IDS)
def test_valid_resident_ids(value):
    assert check_resident_id(value).ok


@pytest.mark.parametrize(("value", "problem"), [
    ("110105194912310021", Problem.CHECK),      # last character changed
    ("11010519491331002X", Problem.BIRTH_DATE),  # month 13
    ("11010519490230002X", Problem.BIRTH_DATE),  # 30 February
    ("99010519491231002X", Problem.CHECK),       # 9x: foreign permanent residence ID, check fails
    ("00010519491231002X", Problem.REGION),
    ("1101051949123100", Problem.FORMAT),
    ("", Problem.EMPTY),
])
def test_invalid_resident_ids(value, problem):
    assert check_resident_id(value).problem == problem


def test_future_birth_date_is_impossible():
    first17 = "11010520991231002"
    value = first17 + resident_id_check_char(first17)
    assert check_resident_id(value, today=dt.date(2026, 11, 22)).problem == Problem.BIRTH_DATE


def test_fifteen_digit_id_checks_date():
    assert check_resident_id("110105491231002").ok
    assert check_resident_id("110105491331002").problem == Problem.BIRTH_DATE


def test_uscc_vector_and_errors():
    assert check_uscc("91110000600037341L").ok
    assert check_uscc("91110000600037341M").problem == Problem.CHECK
    assert check_uscc("9111000060003734IL").problem == Problem.FORMAT  # I is not in the alphabet


@pytest.mark.parametrize("authority", ["A", "N", "Y"])
def test_uscc_accepts_authorities_that_stdnum_rejects(authority):
    first17 = f"{authority}1110000600037341"
    assert check_uscc(first17 + uscc_check_char(first17)).ok


def test_org_code_vector():
    assert check_org_code("60003734-1").ok
    assert check_org_code("60003734-2").problem == Problem.CHECK


def test_mask_keeps_region_and_last_four():
    assert mask_resident_id("11010519491231002X") == "110105********002X"


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
       st.integers(min_value=0, max_value=999))
def test_every_generated_id_validates_and_one_changed_digit_fails(born, seq):
    first17 = f"500103{born:%Y%m%d}{seq:03d}"
    value = first17 + resident_id_check_char(first17)
    assert check_resident_id(value).ok
    wrong = "0" if value[-1] != "0" else "1"
    assert check_resident_id(value[:-1] + wrong).problem == Problem.CHECK
