"""Sensitive-data detection: precision and recall on the labelled set, and the rules around it."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from kaifang.i18n import reset_locale, set_locale
from kaifang.ingest import Grade, Kind, OpenType, detect_samples, detect_table
from kaifang.ingest.desensitise import Action
from kaifang.ingest.detect import suggest_plan
from kaifang.ingest.kinds import header_hints
from tests.unit.ingest.labelled_columns import labelled_columns


@pytest.fixture(scope="module")
def labelled_report():
    columns = labelled_columns()
    samples = {c.header: pa.array(c.values, pa.string()) for c in columns}
    assert len(samples) == len(columns), "headers must be unique"
    return columns, detect_samples(samples)


def _scores(columns, report):
    tp, fp, fn = Counter(), Counter(), Counter()
    for column in columns:
        predicted = report.get(column.header).kind
        if predicted is not None and predicted == column.kind:
            tp[predicted] += 1
            continue
        if predicted is not None:
            fp[predicted] += 1
        if column.kind is not None:
            fn[column.kind] += 1
    return tp, fp, fn


def _ratio(a: int, b: int) -> float:
    return a / b if b else 1.0


def test_precision_and_recall_on_the_labelled_set(labelled_report):
    columns, report = labelled_report
    tp, fp, fn = _scores(columns, report)
    kinds = {c.kind for c in columns if c.kind is not None}
    assert len(kinds) >= 12
    print(f"\n{'kind':<16}{'columns':>8}{'TP':>4}{'FP':>4}{'FN':>4}{'precision':>11}{'recall':>8}")
    for kind in sorted(kinds):
        total = sum(1 for c in columns if c.kind == kind)
        p, r = _ratio(tp[kind], tp[kind] + fp[kind]), _ratio(tp[kind], tp[kind] + fn[kind])
        print(f"{kind:<16}{total:>8}{tp[kind]:>4}{fp[kind]:>4}{fn[kind]:>4}{p:>11.2f}{r:>8.2f}")
    decoys = sum(1 for c in columns if c.kind is None)
    TP, FP, FN = sum(tp.values()), sum(fp.values()), sum(fn.values())
    precision, recall = _ratio(TP, TP + FP), _ratio(TP, TP + FN)
    print(f"{'overall':<16}{len(columns):>8}{TP:>4}{FP:>4}{FN:>4}{precision:>11.3f}{recall:>8.3f}"
          f"   ({decoys} decoy columns)")
    assert precision >= 0.95
    assert recall >= 0.9


def test_order_numbers_failing_the_check_digit_are_not_ids(labelled_report):
    columns, report = labelled_report
    for column in columns:
        if column.header in ("订单号", "流水号", "交易号", "批次号"):
            assert report.get(column.header).kind is None, column.header


def test_a_hint_without_matching_values_flags_nothing(labelled_report):
    _, report = labelled_report
    found = report.get("身份证是否核验")
    assert found.kind is None
    assert found.grade is Grade.GENERAL


def test_header_hint_raises_confidence():
    # 70 % valid: below the 80 % bar on its own, enough with a header hint.
    values = pa.array(["11010519491231002X", "360426199101010071"] * 35 + ["13800000000"] * 30)
    report = detect_samples({"身份证号": values, "col_1": values})
    hinted, plain = report.get("身份证号"), report.get("col_1")
    assert hinted.kind is Kind.RESIDENT_ID and hinted.header_hint == "身份证"
    assert hinted.valid_share == 0.7
    assert plain.kind is None
    full = detect_samples({"身份证号": pa.array(["11010519491231002X"] * 9 + ["x"]),
                           "col_1": pa.array(["11010519491231002X"] * 9 + ["x"])})
    assert full.get("身份证号").confidence > full.get("col_1").confidence


def test_result_fields_and_masked_examples():
    ids = ["11010519491231002X", "360426199101010071"] * 50
    report = detect_samples({"身份证号": pa.array(ids), "金额": pa.array(["12.5"] * 100)})
    found = report.get("身份证号")
    assert found.kind is Kind.RESIDENT_ID
    assert found.valid_share == 1.0 and found.sampled == 100
    assert found.confidence == 1.0
    assert found.grade is Grade.SENSITIVE_PERSONAL
    assert found.open_type is OpenType.NON_OPEN
    assert set(found.examples) <= {"110105********002X", "360426********0071"}
    assert not any(raw in " ".join(found.examples) for raw in ids[:2])
    assert report.grade is Grade.SENSITIVE_PERSONAL
    assert report.open_type is OpenType.NON_OPEN
    assert report.get("金额").kind is None


def test_reason_is_localised():
    values = pa.array(["11010519491231002X"] * 49 + ["x"])
    token = set_locale("zh_CN")
    try:
        zh = detect_samples({"身份证号": values}).get("身份证号").reason
    finally:
        reset_locale(token)
    token = set_locale("en")
    try:
        en = detect_samples({"身份证号": values}).get("身份证号").reason
    finally:
        reset_locale(token)
    assert en == ("身份证号: resident ID, 98% valid → sensitive personal information → "
                  "non-open unless desensitised")
    assert zh == "身份证号：居民身份证号码，98% 有效 → 敏感个人信息 → 脱敏前不予开放"


def test_bank_cards_need_luhn_or_a_hint():
    failing = pa.array([f"62{i:017d}" for i in range(1, 200, 2)])  # 19 digits, mostly not Luhn
    report = detect_samples({"银行账号": failing, "col_2": failing})
    assert report.get("银行账号").kind is Kind.BANK_CARD
    assert report.get("col_2").kind is None
    assert detect_samples({"x": pa.array(["4111111111111111"] * 10)}).get("x").kind is Kind.BANK_CARD


def test_names_need_a_header_hint():
    names = pa.array(["张伟", "王芳", "李娜", "欧阳娜娜"] * 25)
    report = detect_samples({"姓名": names, "字段1": names, "单位名称": names})
    assert report.get("姓名").kind is Kind.PERSON_NAME
    assert report.get("姓名").examples[0].endswith("*")
    assert report.get("字段1").kind is None
    assert report.get("单位名称").kind is None


def test_header_hints():
    assert Kind.MOBILE in header_hints("联系电话")
    assert Kind.IPV4 in header_hints("登录IP")
    assert Kind.IPV4 not in header_hints("description")
    assert Kind.PERSON_NAME not in header_hints("company_name")
    assert Kind.PERSON_NAME in header_hints("name")


def test_detect_table_and_suggested_plan():
    table = pa.table({
        "身份证号": ["11010519491231002X", "360426199101010071"] * 20,
        "统一社会信用代码": ["91110000600037341L"] * 40,
        "地址": ["北京市朝阳区建国路88号"] * 40,
        "备注": ["无"] * 40,
    })
    report = detect_table(table)
    assert [c.kind for c in report.columns] == [Kind.RESIDENT_ID, Kind.USCC, Kind.ADDRESS, None]
    plan = suggest_plan(report)
    assert plan.rule("身份证号").action is Action.MASK
    assert plan.rule("统一社会信用代码").action is Action.KEEP
    assert plan.rule("地址").level == "district"
    assert plan.rule("备注").action is Action.KEEP
