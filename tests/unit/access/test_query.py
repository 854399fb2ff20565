"""Parsing what callers ask of a version: every refusal names the parameter it is about."""

from __future__ import annotations

import datetime as dt

import pytest

from kaifang.access.columns import Column, ColumnKind
from kaifang.access.query import (
    MAX_CONDITIONS,
    MAX_IN_VALUES,
    Condition,
    Measure,
    SortKey,
    condition_from_dict,
    parse_aggregate,
    parse_rows,
)
from kaifang.errors import InvalidParameter
from kaifang.i18n import reset_locale, set_locale

COLUMNS = {c.name: c for c in [
    Column("企业名称", ColumnKind.TEXT), Column("注册资本", ColumnKind.NUMBER), Column("人数", ColumnKind.INTEGER),
    Column("成立日期", ColumnKind.DATE), Column("更新时间", ColumnKind.DATETIME), Column("在营", ColumnKind.BOOLEAN),
    Column("limit", ColumnKind.TEXT), Column("count", ColumnKind.INTEGER), Column("a__b", ColumnKind.TEXT),
    Column("身份证号", ColumnKind.INTEGER, pseudonymised=True),
]}


@pytest.fixture(autouse=True)
def _english():
    token = set_locale("en")
    yield
    reset_locale(token)


def rows(*params: tuple[str, str]):
    return parse_rows(list(params), COLUMNS, default_limit=100, max_limit=1000)


def refused(parse, *params: tuple[str, str]) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as caught:
        parse(*params)
    return caught.value


def test_defaults_read_every_column_in_file_order():
    query = rows()
    assert query.fields == tuple(COLUMNS) and query.where == () and query.sort == ()
    assert query.limit == 100 and query.cursor is None and query.total is False


def test_filters_are_typed_by_their_column():
    query = rows(("企业名称", "甲公司"), ("注册资本__gte", "12.5"), ("人数__in", "1,2"), ("成立日期__lt", "2020-01-02"),
                 ("更新时间__gt", "2020-01-02T10:00:00+00:00"), ("在营", "是"), ("人数__isnull", "false"))
    assert query.where == (
        Condition("企业名称", "eq", "甲公司"), Condition("注册资本", "gte", 12.5), Condition("人数", "in", (1, 2)),
        Condition("成立日期", "lt", dt.date(2020, 1, 2)),
        Condition("更新时间", "gt", dt.datetime(2020, 1, 2, 18, 0)),  # Beijing time, like the stored values
        Condition("在营", "eq", True), Condition("人数", "isnull", False))


def test_in_takes_a_json_list_for_values_with_commas_and_true_false():
    assert rows(("企业名称__in", '["甲,乙", "丙"]')).where == (Condition("企业名称", "in", ("甲,乙", "丙")),)
    assert rows(("在营__in", "[true, false]")).where == (Condition("在营", "in", (True, False)),)
    assert rows(("注册资本__in", "[1, 2.5]")).where == (Condition("注册资本", "in", (1.0, 2.5)),)
    assert rows(("企业名称__in", "甲, 乙")).where == (Condition("企业名称", "in", ("甲", " 乙")),)  # spaces count


def test_reserved_names_and_double_underscores():
    assert rows(("limit__eq", "x"), ("limit", "5")).where == (Condition("limit", "eq", "x"),)
    assert rows(("limit__eq", "x"), ("limit", "5")).limit == 5
    assert rows(("a__b", "x"), ("a__b__startswith", "y")).where == (
        Condition("a__b", "eq", "x"), Condition("a__b", "startswith", "y"))
    assert rows(("lang", "en")).where == ()  # the interface language, never a filter


def test_pseudonymised_columns_are_text():
    assert rows(("身份证号", "00ab")).where == (Condition("身份证号", "eq", "00ab"),)
    assert rows(("身份证号__contains", "ab")).where == (Condition("身份证号", "contains", "ab"),)


@pytest.mark.parametrize(("params", "param", "words"), [
    ((("名称", "x"),), "名称", "Unknown parameter"),
    ((("nope__gt", "1"),), "nope__gt", "not a column"),
    ((("人数__like", "1"),), "人数__like", "not an operator"),
    ((("人数", "abc"),), "人数", "whole number"),
    ((("人数", str(2**63)),), "人数", "too large"),
    ((("注册资本__gt", "1e999"),), "注册资本__gt", "not a number"),
    ((("注册资本", "nan"),), "注册资本", "not a number"),
    ((("成立日期", "2020-13-01"),), "成立日期", "not a date"),
    ((("更新时间__lt", "yesterday"),), "更新时间__lt", "not a date and time"),
    ((("更新时间__lt", "0001-01-01T00:00:00+09:00"),), "更新时间__lt", "out of range"),
    ((("在营", "maybe"),), "在营", "true or false"),
    ((("在营__gt", "true"),), "在营__gt", "Yes/no"),
    ((("人数__contains", "1"),), "人数__contains", "text columns only"),
    ((("企业名称__contains", ""),), "企业名称__contains", "text to look for"),
    ((("人数__isnull", "perhaps"),), "人数__isnull", "true or false"),
    ((("人数__in", "[1,"),), "人数__in", "not valid JSON"),
    ((("人数__in", "[" * 5000),), "人数__in", "not valid JSON"),
    ((("人数__in", '[{"a": 1}]'),), "人数__in", "only text"),
    ((("人数__in", ",".join(["1"] * (MAX_IN_VALUES + 1))),), "人数__in", "between 1 and"),
    ((("人数__in", "1,x"),), "人数__in", "whole number"),
    ((("企业名称", "x" * 10_001),), "企业名称", "too long"),
    ((("limit", "0"),), "limit", "at least 1"),
    ((("limit", "1001"),), "limit", "at most 1000"),
    ((("limit", "ten"),), "limit", "whole number"),
    ((("limit", "1"), ("limit", "2")), "limit", "once"),
    ((("fields", "企业名称,税号"),), "fields", "税号"),
    ((("fields", ",,"),), "fields", "at least one"),
    ((("sort", "-税号"),), "sort", "税号"),
    ((("sort", "人数,-人数"),), "sort", "twice"),
    ((("sort", "a__b,人数,注册资本,成立日期,更新时间,企业名称"),), "sort", "at most"),
    ((("total", "sometimes"),), "total", "true or false"),
])
def test_refusals_name_the_parameter(params, param, words):
    error = refused(rows, *params)
    assert error.parameter == param and set(error.fields) == {param}
    assert words.lower() in error.message.lower()


def test_too_many_filters():
    error = refused(rows, *[("人数__ne", str(i)) for i in range(MAX_CONDITIONS + 1)])
    assert error.parameter == "filters"


def aggregate(*params: tuple[str, str]):
    return parse_aggregate(list(params), COLUMNS, default_limit=50, max_limit=100)


def test_aggregate_specs():
    query = aggregate(("group_by", "在营,成立日期"), ("measures", "count, sum:注册资本, avg:人数, max:企业名称, count"),
                      ("sort", "-sum:注册资本,在营"), ("人数__gt", "3"))
    assert query.group_by == ("在营", "成立日期")
    assert query.measures == (Measure("count"), Measure("sum", "注册资本"), Measure("avg", "人数"),
                              Measure("max", "企业名称"))
    assert query.sort == (SortKey("sum:注册资本", True), SortKey("在营"))
    assert query.where == (Condition("人数", "gt", 3),) and query.limit == 50
    assert aggregate().measures == (Measure("count"),) and aggregate().group_by == ()


@pytest.mark.parametrize(("params", "param", "words"), [
    ((("measures", "median:人数"),), "measures", "not a measure"),
    ((("measures", "sum"),), "measures", "needs a column"),
    ((("measures", "sum:税号"),), "measures", "税号"),
    ((("measures", "sum:企业名称"),), "measures", "number column"),
    ((("measures", "avg:身份证号"),), "measures", "number column"),
    ((("measures", "max:在营"),), "measures", "yes/no"),
    ((("measures", ","),), "measures", "between 1 and"),
    ((("group_by", "count"), ("measures", "count")), "measures", "grouping column"),
    ((("group_by", "税号"),), "group_by", "税号"),
    ((("group_by", "在营"), ("sort", "人数")), "sort", "人数"),  # only groups and measures sort
    ((("sort", "-sum:注册资本"),), "sort", "sum:注册资本"),
    ((("limit", "101"),), "limit", "at most 100"),
    ((("total", "true"),), "total", "Unknown parameter"),
])
def test_aggregate_refusals_name_the_parameter(params, param, words):
    error = refused(aggregate, *params)
    assert error.parameter == param and words.lower() in error.message.lower()


def test_stored_grant_filters_read_back_like_typed_ones():
    for condition in (Condition("人数", "in", (1, 2)), Condition("成立日期", "gte", dt.date(2020, 1, 1)),
                      Condition("在营", "isnull", True), Condition("企业名称", "ne", "甲")):
        assert condition_from_dict(condition.as_dict(), COLUMNS) == condition
    with pytest.raises(InvalidParameter):
        condition_from_dict({"column": "税号", "op": "eq", "value": "1"}, COLUMNS)
