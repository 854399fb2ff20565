"""Desensitisation plans, applied in the engine, and k-anonymity."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest

from kaifang.ingest import (
    Code,
    IngestError,
    KAnonymity,
    Kind,
    Plan,
    apply_plan,
    drop,
    generalise,
    k_anonymity,
    keep,
    mask,
    pseudonym,
    pseudonym_value,
    suppress,
    suppress_small_classes,
)
from kaifang.ingest.desensitise import hmac_pads
from kaifang.ingest.masks import mask_value

PEOPLE = pa.table({
    "身份证号": ["11010519491231002X", "360426199101010071", "130503670401001", None],
    "手机号": ["13812345678", "+86 139 1234 5678", "13700001111", "1"],
    "姓名": ["张三", "欧阳娜娜", "李", "王小明"],
    "卡号": ["6222021234567890123", "4111111111111111", "1234", None],
    "地址": ["北京市朝阳区建国路88号", "广东省深圳市南山区科技园路1号", "重庆市渝中区", "短"],
    "邮箱": ["zhang@example.cn", "a@b.com", "no-at-sign", None],
    "车牌": ["京A12345", "粤BD12345", "沪A1", None],
    "出生日期": ["1949-12-31", "1991/1/1", "不详", None],
    "收入": ["1234.5", "99", "-1", "x"],
})


def _apply(plan: Plan, table: pa.Table = PEOPLE, secret: str | None = "key-1") -> pa.Table:
    return apply_plan(table, plan, secret=secret).read_all()


def test_default_masks_per_kind():
    out = _apply(Plan({
        "身份证号": mask(Kind.RESIDENT_ID), "手机号": mask(Kind.MOBILE), "姓名": mask("person_name"),
        "卡号": mask(Kind.BANK_CARD), "地址": mask(Kind.ADDRESS), "邮箱": mask(Kind.EMAIL),
        "车牌": mask(Kind.PLATE),
    }))
    assert out.column("身份证号").to_pylist() == ["110105********002X", "360426********0071",
                                               "130503*****1001", None]
    assert out.column("手机号").to_pylist() == ["138****5678", "139****5678", "137****1111", "*"]
    assert out.column("姓名").to_pylist() == ["张*", "欧***", "李", "王**"]
    assert out.column("卡号").to_pylist() == ["6222***********0123", "4111********1111", "****",
                                            None]
    assert out.column("地址").to_pylist() == ["北京市朝********", "广东省深圳市南********",
                                            "******", "*"]
    assert out.column("邮箱").to_pylist() == ["z****@example.cn", "a@b.com", "n********n", None]
    assert out.column("车牌").to_pylist() == ["京A1***5", "粤BD****5", "***", None]


def test_sql_masks_equal_the_python_masks():
    values = ["11010519491231002X", "13812345678", "+8613812345678", "张三丰", "a.b@c.cn",
              "192.168.1.20", "京A12345", "E12345678", "91110000600037341L", "010-62345678", "x"]
    table = pa.table({"v": values})
    for kind in Kind:
        got = _apply(Plan({"v": mask(kind)}), table).column("v").to_pylist()
        assert got == [mask_value(kind, v) for v in values], kind
    custom = _apply(Plan({"v": mask(head=2, tail=0)}), table).column("v").to_pylist()
    assert custom == [mask_value(None, v, 2, 0) for v in values]


def test_pseudonyms_are_keyed_hmac_and_stable():
    plan = Plan({"身份证号": pseudonym(), "姓名": pseudonym(length=64)})
    first = _apply(plan, secret="key-1")
    again = _apply(plan, secret="key-1")
    other = _apply(plan, secret="key-2")
    assert first.equals(again)
    ids = first.column("身份证号").to_pylist()
    assert ids[3] is None and len(ids[0]) == 16
    assert all(a != b for a, b in zip(ids[:3], other.column("身份证号").to_pylist()[:3],
                                      strict=True))
    expected = hmac.new(b"key-1", "张三".encode(), hashlib.sha256).hexdigest()
    assert first.column("姓名").to_pylist()[0] == expected == pseudonym_value("key-1", "张三", 64)
    assert ids[0] == pseudonym_value("key-1", "11010519491231002X")


def test_long_secret_keys_are_hashed_first():
    secret = b"k" * 100
    inner, _ = hmac_pads(secret)
    assert len(inner) == 64
    out = _apply(Plan({"姓名": pseudonym(64)}), secret=secret)
    assert out.column("姓名").to_pylist()[0] == \
        hmac.new(secret, "张三".encode(), hashlib.sha256).hexdigest()


def test_generalisation():
    out = _apply(Plan({
        "出生日期": generalise("year"), "收入": generalise("band", 1000),
        "地址": generalise("district"), "身份证号": generalise("birth_year"),
    }))
    assert out.column("出生日期").to_pylist() == ["1949", "1991", None, None]
    assert out.column("收入").to_pylist() == ["[1000, 2000)", "[0, 1000)", "[-1000, 0)", None]
    assert out.column("地址").to_pylist() == ["北京市朝阳区", "广东省深圳市南山区", "重庆市渝中区",
                                            None]
    assert out.column("身份证号").to_pylist() == ["1949", "1991", "1967", None]
    months = _apply(Plan({"出生日期": generalise("month"), "收入": generalise("band", 0.5)}))
    assert months.column("出生日期").to_pylist() == ["1949-12", "1991-01", None, None]
    assert months.column("收入").to_pylist()[1] == "[99.0, 99.5)"


def test_generalising_typed_columns():
    table = pa.table({"d": pa.array([pa.scalar(0, pa.date32()).as_py()], pa.date32()),
                      "n": pa.array([2500], pa.int64())})
    out = _apply(Plan({"d": generalise("year"), "n": generalise("band", 1000)}), table)
    assert out.to_pylist() == [{"d": "1970", "n": "[2000, 3000)"}]


def test_keep_drop_and_suppress_keep_types():
    table = pa.table({"a": [1, 2], "b": ["x", "y"], "c": ["p", "q"]})
    out = _apply(Plan({"a": suppress(), "b": drop(), "c": keep()}), table)
    assert out.column_names == ["a", "c"]
    assert out.schema.field("a").type == pa.int64()
    assert out.column("a").to_pylist() == [None, None]
    assert out.column("c").to_pylist() == ["p", "q"]


def test_plan_round_trips_as_a_dict():
    plan = Plan({"a": mask(Kind.MOBILE), "b": generalise("band", 10), "c": pseudonym(8)},
                KAnonymity(("b",), k=3, suppress=True))
    assert Plan.from_dict(plan.as_dict()) == plan


@pytest.mark.parametrize("plan, secret", [
    (Plan({"没有": keep()}), None),
    (Plan({"姓名": pseudonym()}), None),
    (Plan({"收入": generalise("band")}), None),
    (Plan({"收入": generalise("decade")}), None),
    (Plan({"姓名": drop()}, KAnonymity(("姓名",), 2)), None),
    (Plan({}, KAnonymity(("姓名",), 1)), None),
])
def test_invalid_plans(plan, secret):
    with pytest.raises(IngestError) as exc:
        _apply(plan, secret=secret)
    assert exc.value.code is Code.INVALID_PLAN


# Hand-checked: (sex, age band, district) classes are
#   (男, 30-39, 朝阳) × 3, (女, 30-39, 朝阳) × 2, (女, 40-49, 海淀) × 1, (男, 40-49, 海淀) × 4
KANON = pa.table({
    "性别": ["男", "男", "男", "女", "女", "女", "男", "男", "男", "男"],
    "年龄段": ["30-39"] * 5 + ["40-49"] * 5,
    "区县": ["朝阳"] * 5 + ["海淀"] * 5,
    "病种": list("ABCDEFGHIJ"),
})


def test_k_anonymity_report():
    report = k_anonymity(KANON, ["性别", "年龄段", "区县"], k=3)
    assert (report.rows, report.classes, report.smallest_class) == (10, 4, 1)
    assert (report.classes_below_k, report.rows_below_k) == (2, 3)
    assert not report.satisfied
    assert k_anonymity(KANON, ["年龄段"], k=5).satisfied
    assert k_anonymity(KANON, ["区县"], k=2).as_dict()["smallest_class"] == 5


def test_suppressing_small_classes():
    kept = suppress_small_classes(KANON, ["性别", "年龄段", "区县"], k=3)
    assert sorted(kept.column("病种").to_pylist()) == list("ABCGHIJ")
    planned = _apply(Plan({}, KAnonymity(("性别", "年龄段", "区县"), k=3, suppress=True)), KANON)
    assert sorted(planned.column("病种").to_pylist()) == list("ABCGHIJ")
    assert k_anonymity(planned, ["性别", "年龄段", "区县"], 3).satisfied


def test_k_anonymity_is_measured_after_generalisation():
    table = pa.table({"出生日期": ["1990-01-05", "1990-07-09", "1991-02-03", "1991-12-12"]})
    plan = Plan({"出生日期": generalise("year")}, KAnonymity(("出生日期",), k=2, suppress=True))
    assert _apply(plan, table).num_rows == 4


def test_apply_plan_streams_batches():
    batches = [pa.record_batch({"v": [f"1380000{i:04d}" for i in range(j, j + 1000)]})
               for j in range(0, 5000, 1000)]
    reader = apply_plan(iter(batches), Plan({"v": mask(Kind.MOBILE)}), schema=batches[0].schema,
                        batch_rows=1000)
    total = 0
    for batch in reader:
        assert batch.num_rows <= 2048
        total += batch.num_rows
    assert total == 5000
