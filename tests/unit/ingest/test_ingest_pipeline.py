"""The whole pipeline: one Parquet file written atomically, with its reports."""

from __future__ import annotations

import hashlib
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kaifang.ingest import (
    Code,
    DataItem,
    IngestError,
    KAnonymity,
    Kind,
    Plan,
    generalise,
    ingest_file,
    keep,
    mask,
    pseudonym,
    pseudonym_value,
)
from kaifang.ingest.base import TableReader
from tests.unit.ingest.labelled_columns import (
    mobiles,
    names,
    order_numbers,
    valid_resident_ids,
    valid_usccs,
)

HEADER = ["身份证号", "手机号", "姓名", "统一社会信用代码", "订单号", "登记日期", "人数"]


@pytest.fixture
def gbk_csv(tmp_path) -> Path:
    n = 300
    ids = ["11010519491231002X", "360426199101010071", *valid_resident_ids(n - 2)]
    usccs = ["91110000600037341L", *valid_usccs(n - 1)]
    dates = [f"2024-{(i % 12) + 1:02d}-{(i % 28) + 1:02d}" for i in range(n)]
    counts = [str(i % 7) for i in range(n)]
    rows = zip(ids, mobiles(n), names(n), usccs, order_numbers(n), dates, counts, strict=True)
    text = ",".join(HEADER) + "\n" + "".join(",".join(r) + "\n" for r in rows)
    path = tmp_path / "登记表.csv"
    path.write_bytes(text.encode("gbk"))
    return path


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_gbk_csv_to_parquet_with_a_plan(gbk_csv, tmp_path):
    out = tmp_path / "out"
    calls: list[tuple[int, float]] = []
    plan = Plan({"身份证号": mask(Kind.RESIDENT_ID), "手机号": pseudonym(), "姓名": mask("person_name"),
                 "订单号": keep()})
    result = ingest_file(gbk_csv, plan=plan, secret="release-key", out_dir=out,
                         progress=lambda rows, pct: calls.append((rows, pct)))

    assert _files(out) == ["data.parquet"]
    assert result.path == out / "data.parquet"
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.size_bytes == result.path.stat().st_size
    assert result.rows == result.rows_read == 300 and result.rows_suppressed == 0
    assert [name for name, _ in result.schema] == HEADER
    assert result.source == {"format": "csv", "encoding": "gbk", "delimiter": ",",
                             "header_rows": 1}
    table = pq.read_table(result.path)
    assert table.column("身份证号").to_pylist()[:2] == ["110105********002X", "360426********0071"]
    phone = table.column("手机号").to_pylist()[0]
    assert phone == pseudonym_value("release-key", mobiles(300)[0])
    assert all((len(v) == 2 and v.endswith("*")) or (len(v) == 3 and v.endswith("**"))
               for v in table.column("姓名").to_pylist())

    kinds = {d.column: d.kind for d in result.detection.columns}
    assert kinds == {"身份证号": Kind.RESIDENT_ID, "手机号": Kind.MOBILE, "姓名": Kind.PERSON_NAME,
                     "统一社会信用代码": Kind.USCC, "订单号": None, "登记日期": None, "人数": None}
    assert result.suggested_plan.rule("身份证号").action.value == "mask"
    assert result.profile.column("登记日期").inferred_type == "date"
    assert result.profile.column("人数").inferred_type == "integer"
    assert result.profile.column("身份证号").inferred_type == "string"
    assert result.profile.quality.completeness == 1.0

    assert calls[-1] == (300, 100.0)
    assert [rows for rows, _ in calls] == sorted(rows for rows, _ in calls)
    assert result.as_dict()["detection"]["columns"][0]["kind"] == "resident_id"


def test_staging_run_keeps_values_but_reports_them_masked(gbk_csv, tmp_path):
    result = ingest_file(gbk_csv, secret=None, out_dir=tmp_path / "stage")
    table = pq.read_table(result.path)
    assert table.column("身份证号").to_pylist()[0] == "11010519491231002X"
    top_ids = [value for value, _ in result.profile.column("身份证号").top]
    assert top_ids and all("********" in v for v in top_ids)
    assert "*" not in str(result.profile.column("统一社会信用代码").top)  # a public code
    assert result.suggested_plan.rule("姓名").kind is Kind.PERSON_NAME


class Exploding(TableReader):
    """Yields a few batches, then fails the way a full disk or a bad row would."""

    def __init__(self, error: BaseException, after: int = 3) -> None:
        super().__init__(["a", "b"], {"format": "test"})
        self.error, self.after = error, after

    def _batches(self):
        for i in range(10):
            if i == self.after:
                raise self.error
            yield pa.record_batch({"a": [str(i)] * 5000, "b": ["x"] * 5000})


@pytest.mark.parametrize("make_error", [
    lambda: RuntimeError("disk went away"),
    lambda: IngestError(Code.RAGGED_ROWS, "bad rows", {"lines": [9]}),
])
def test_a_failure_mid_way_writes_no_file(tmp_path, make_error):
    error = make_error()
    out = tmp_path / "v2"
    out.mkdir()
    previous = out / "data.parquet"
    previous.write_bytes(b"previous version")
    with pytest.raises(type(error)) as exc:
        ingest_file("unused.csv", secret=None, out_dir=out, reader=Exploding(error))
    assert exc.value is error
    assert _files(out) == ["data.parquet"]
    assert previous.read_bytes() == b"previous version"


def test_a_bad_plan_fails_before_writing(gbk_csv, tmp_path):
    with pytest.raises(IngestError) as exc:
        ingest_file(gbk_csv, plan=Plan({"手机号": pseudonym()}), secret=None, out_dir=tmp_path / "o")
    assert exc.value.code is Code.INVALID_PLAN
    assert _files(tmp_path / "o") == []


def test_declared_items_type_the_output_and_report_problems(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("编号,人数,日期,金额,是否有效,备注\n1,3,2024-01-05,1.5,是,a\n"
                    "2,x,2024-02-30,2,否,b\n3,,2024-03-01,,是,c\n", encoding="utf-8")
    items = [DataItem("编号", "integer"), DataItem("人数", "整数", required=True),
             DataItem("日期", "date"), DataItem("金额", "数值"), DataItem("是否有效", "boolean")]
    result = ingest_file(path, declared_items=items, secret=None, out_dir=tmp_path / "o")
    schema = dict(result.schema)
    assert schema == {"编号": "int64", "人数": "int64", "日期": "date32[day]", "金额": "double",
                      "是否有效": "bool", "备注": "string"}
    report = result.validation
    assert report.extra == ["备注"] and report.missing == []
    assert [(p.row, p.column, p.problem) for p in report.problems] == [
        (2, "人数", "type"), (3, "人数", "required"), (2, "日期", "type")]
    assert report.problem_count == 3
    assert len(result.warnings) == 2
    table = pq.read_table(result.path)
    assert table.column("人数").to_pylist() == [3, None, None]
    assert table.column("是否有效").to_pylist() == [True, False, True]

    with pytest.raises(IngestError) as exc:
        ingest_file(path, declared_items=items, secret=None, out_dir=tmp_path / "s", strict=True)
    assert exc.value.code is Code.INVALID_VALUES
    assert exc.value.detail["problems"][0]["row"] == 2
    assert _files(tmp_path / "s") == []


def test_missing_declared_items(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        ingest_file(path, declared_items=[DataItem("a"), DataItem("姓名")], secret=None,
                    out_dir=tmp_path / "o")
    assert exc.value.code is Code.MISSING_COLUMNS
    assert exc.value.detail["missing"] == ["姓名"]


def test_k_anonymity_suppression_in_the_pipeline(tmp_path):
    path = tmp_path / "k.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["某区就诊统计"])
    sheet.append(["性别", "出生日期", "区县", "诊断"])
    rows = [("男", f"1990-0{1 + i % 3}-01", "朝阳区", "A") for i in range(9)]
    rows += [("女", "1985-05-05", "海淀区", "B")]
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    plan = Plan({"出生日期": generalise("year")},
                KAnonymity(("性别", "出生日期", "区县"), k=3, suppress=True))
    result = ingest_file(path, plan=plan, secret=None, out_dir=tmp_path / "o")
    assert result.source["sheet"] == "Sheet" and result.source["header_row"] == 2
    assert result.rows_read == 10 and result.rows == 9 and result.rows_suppressed == 1
    assert result.k_anonymity.satisfied and result.k_anonymity.smallest_class == 9
    assert pq.read_table(result.path).column("出生日期").to_pylist() == ["1990"] * 9
