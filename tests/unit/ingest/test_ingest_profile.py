"""Column profiles and the quality report."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from kaifang.ingest import profile_table
from kaifang.ingest.kinds import Kind
from kaifang.ingest.masks import mask_value
from kaifang.ingest.profile import summarise_pattern

TABLE = pa.table({
    "身份证号": ["11010519491231002X", "360426199101010071", "11010519491231002X", None, "  "],
    "人数": ["3", "1,200", "7", "x", "5"],
    "金额": ["1.5", "2", "-3.25", "1e3", None],
    "日期": ["2024-01-05", "2024/2/1", "2024年3月1日", "20240401", None],
    "时间": ["2024-01-05 08:00:00", "2024-01-06 09:30", "2024-01-07", None, None],
    "是否": ["是", "否", "是", "是", "否"],
    "电话": ["010-6234", "021-5678", "010-6234", "0755-1111", None],
    "编码": ["007", "012", "999", "100", "001"],
    "空": [None, None, None, None, None],
})


def test_types_counts_and_extremes():
    profile = profile_table(TABLE)
    assert profile.rows == 5
    col = {c.name: c for c in profile.columns}
    assert {n: c.inferred_type for n, c in col.items()} == {
        "身份证号": "string", "人数": "string", "金额": "number", "日期": "date",
        "时间": "datetime", "是否": "boolean", "电话": "string", "编码": "string", "空": "empty"}
    ids = col["身份证号"]
    assert (ids.empty, ids.distinct) == (2, 3)
    assert ids.top[0] == ("11010519491231002X", 2)
    assert ids.min_length == ids.max_length == 18
    assert (col["金额"].min, col["金额"].max) == (-3.25, 1000.0)
    assert (col["日期"].min, col["日期"].max) == ("2024-01-05", "2024-04-01")
    assert col["日期"].conformity == 1.0
    assert col["空"].completeness == 0.0


def test_a_mostly_numeric_column_is_typed_with_its_conformity():
    table = pa.table({"n": [str(i) for i in range(99)] + ["n/a"]})
    col = profile_table(table).columns[0]
    assert col.inferred_type == "integer"
    assert col.conformity == 0.99
    assert (col.min, col.max) == (0, 98)
    quality = profile_table(table).quality
    assert quality.validity == 0.99
    assert any("n" in issue and "1" in issue for issue in quality.issues)


def test_patterns():
    profile = profile_table(TABLE)
    col = {c.name: c for c in profile.columns}
    assert col["身份证号"].patterns == [("d{17}a", 0.6667), ("digits-18", 0.3333)]
    assert col["电话"].patterns[0] == ("ddd-dddd", 0.75)
    assert summarise_pattern("h" * 3) == "han-3"
    assert summarise_pattern("aaaa-dddddddddddddd-dd") == "a{4}-d{14}-dd"


def test_masks_hide_raw_values_and_typed_columns_keep_their_type(tmp_path):
    path = tmp_path / "t.parquet"
    typed = pa.table({"身份证号": ["11010519491231002X"] * 3, "n": pa.array([1, 2, 3], pa.int64()),
                      "d": pa.array([19000, 19001, None], pa.date32())})
    pq.write_table(typed, path)
    profile = profile_table(path, masks={"身份证号": lambda v: mask_value(Kind.RESIDENT_ID, v)})
    ids = profile.column("身份证号")
    assert ids.top == [("110105********002X", 3)]
    assert ids.min == ids.max == "110105********002X"
    assert profile.column("n").inferred_type == "integer" and profile.column("n").max == 3
    assert profile.column("d").inferred_type == "date"
    assert profile.quality.latest_date == "2022-01-09"


def test_quality_report():
    table = pa.table({"a": ["1", "1", "2", None], "b": ["x", "x", "y", "z"]})
    quality = profile_table(table).quality
    assert quality.completeness == 0.875
    assert quality.duplicate_rows == 1 and quality.uniqueness == 0.75
    assert 0 < quality.score < 100
    assert profile_table(table).as_dict()["quality"]["duplicate_rows"] == 1
