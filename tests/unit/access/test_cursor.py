"""Page tokens: signed, bound to their query and version, and refused (400 on ``next``) otherwise."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from kaifang.access.columns import Column, ColumnKind
from kaifang.access.cursor import Cursor, encode, query_digest, unseal
from kaifang.access.query import Condition, SortKey
from kaifang.errors import InvalidParameter

SECRET = "s" * 40
COLUMNS = {c.name: c for c in [Column("日期", ColumnKind.DATE), Column("时间", ColumnKind.DATETIME),
                               Column("金额", ColumnKind.NUMBER), Column("人数", ColumnKind.INTEGER),
                               Column("在营", ColumnKind.BOOLEAN), Column("名称", ColumnKind.TEXT),
                               Column("证号", ColumnKind.INTEGER, pseudonymised=True)]}
SORT = tuple(SortKey(name, i % 2 == 1) for i, name in enumerate(COLUMNS))
VALUES = (dt.date(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5, 6), 12.0, 7, False, "甲", "00ab")
WHERE = (Condition("人数", "in", (1, 2)), Condition("日期", "gte", dt.date(2020, 1, 1)))


def digest(where=WHERE, sort=SORT, scope="open") -> str:
    return query_digest(where, sort, scope)


def test_a_token_gives_back_its_position_with_typed_values():
    token = encode(SECRET, Cursor("v1", VALUES, 41), digest())
    sealed = unseal(SECRET, token)
    assert sealed.version_id == "v1"
    assert sealed.cursor(digest(), SORT, COLUMNS) == Cursor("v1", VALUES, 41)


def test_empty_values_in_a_token():
    token = encode(SECRET, Cursor("v1", (None,) * len(SORT), 0), digest())
    assert unseal(SECRET, token).cursor(digest(), SORT, COLUMNS).values == (None,) * len(SORT)


def test_a_token_only_serves_its_own_query():
    sealed = unseal(SECRET, encode(SECRET, Cursor("v1", VALUES, 41), digest()))
    for other in (digest(where=WHERE[:1]), digest(sort=SORT[::-1]), digest(scope="grant:g:1")):
        with pytest.raises(InvalidParameter) as caught:
            sealed.cursor(other, SORT, COLUMNS)
        assert caught.value.parameter == "next"


def _forged(body: dict) -> str:
    raw = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return raw + ".AAAAAAAAAAAAAAAA"


@pytest.mark.parametrize("token", [
    "", "abc", "a.b.c", "x" * 5000, "éé.éé", "%%%.%%%", "eyJ2Ijoi.AAAA",
    _forged({"v": "v1", "q": "x", "k": [], "r": 0}),
])
def test_malformed_or_forged_tokens_are_refused(token):
    with pytest.raises(InvalidParameter) as caught:
        unseal(SECRET, token)
    assert caught.value.parameter == "next"


def test_a_token_signed_with_another_key_is_refused():
    token = encode("another key" * 4, Cursor("v1", VALUES, 41), digest())
    with pytest.raises(InvalidParameter):
        unseal(SECRET, token)


def test_values_of_the_wrong_kind_are_refused():
    wrong = ("2020-01-02", "not a time", "12", 7, False, "甲", "00ab")
    sealed = unseal(SECRET, encode(SECRET, Cursor("v1", wrong, 41), digest()))
    with pytest.raises(InvalidParameter):
        sealed.cursor(digest(), SORT, COLUMNS)
