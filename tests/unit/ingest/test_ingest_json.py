"""JSON arrays, JSON Lines and GeoJSON, streamed in bounded chunks."""

from __future__ import annotations

import json

import pytest

from kaifang.ingest import Code, IngestError, Limits, jsonread, read_table
from kaifang.ingest.jsonread import JsonScanner, to_wkt
from kaifang.ingest.sniff import Format, sniff_file


def _chunks(text: str, size: int):
    return iter([text[i : i + size] for i in range(0, len(text), size)])


@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_scanner_finds_every_record_across_chunk_boundaries(size):
    records = [{"a": 123, "b": "x,y]"}, {"a": -4.5e3, "b": None}, {"c": [1, {"d": "}"}]}, 7890]
    scanner = JsonScanner(_chunks(json.dumps(records, ensure_ascii=False), size), 1 << 20)
    assert list(scanner.array()) == records


def test_scanner_streams_the_array_inside_an_object():
    text = '{"code": 0, "bbox": [1, 2], "msg": "ok", "data": [{"k": 1}, {"k": 2}], "n": 2}'
    assert list(JsonScanner(_chunks(text, 4), 1 << 20).records_in_object(None)) == [
        {"k": 1}, {"k": 2}]
    geo = '{"bbox": [1, 2], "features": [{"k": 1}], "type": "FeatureCollection"}'
    assert list(JsonScanner(_chunks(geo, 5), 1 << 20).records_in_object("features")) == [{"k": 1}]


def test_json_array_keys_are_the_union_in_order(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"名称": "甲", "数量": 1}, {"数量": 2.5, "标签": ["x", "y"]},
                                {"名称": None, "有效": True}], ensure_ascii=False),
                    encoding="utf-8")
    assert sniff_file(path).format is Format.JSON
    table = read_table(path)
    assert table.column_names == ["名称", "数量", "标签", "有效"]
    assert table.to_pylist()[1] == {"名称": None, "数量": "2.5", "标签": '["x","y"]', "有效": None}
    assert table.column("有效").to_pylist() == [None, None, "true"]


def test_large_array_in_small_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonread, "CHUNK", 4096)
    path = tmp_path / "big.json"
    path.write_text(json.dumps([{"i": i, "s": "值" * 20} for i in range(20000)],
                               ensure_ascii=False), encoding="utf-8")
    table = read_table(path, batch_rows=5000)
    assert table.num_rows == 20000
    assert table.column("i").to_pylist()[-1] == "19999"


def test_json_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2, "b": "中"}\n', encoding="gbk")
    assert sniff_file(path).format is Format.JSONL
    assert read_table(path).to_pylist() == [{"a": "1", "b": None}, {"a": "2", "b": "中"}]


def test_geojson_geometry_as_wkt_or_geojson_text(tmp_path):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": 7, "properties": {"名称": "公园"},
         "geometry": {"type": "Point", "coordinates": [116.3975, 39.9087]}},
        {"type": "Feature", "properties": {"名称": "湖"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}},
        {"type": "Feature", "properties": {"名称": "无"}, "geometry": None},
    ]}
    path = tmp_path / "places.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    assert sniff_file(path).format is Format.GEOJSON
    table = read_table(path)
    assert table.column_names == ["名称", "id", "geometry"]
    assert table.column("geometry").to_pylist() == [
        "POINT (116.3975 39.9087)", "POLYGON ((0 0, 1 0, 1 1, 0 0))", None]
    as_json = read_table(path, geometry="geojson").column("geometry").to_pylist()
    assert json.loads(as_json[0]) == collection["features"][0]["geometry"]


def test_wkt_of_every_geometry_type():
    assert to_wkt({"type": "MultiPoint", "coordinates": [[1, 2], [3, 4]]}) == \
        "MULTIPOINT (1 2, 3 4)"
    assert to_wkt({"type": "LineString", "coordinates": [[1.5, 2], [3, 4]]}) == \
        "LINESTRING (1.5 2, 3 4)"
    assert to_wkt({"type": "MultiLineString", "coordinates": [[[1, 2], [3, 4]]]}) == \
        "MULTILINESTRING ((1 2, 3 4))"
    assert to_wkt({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [0, 0]]]]}) == \
        "MULTIPOLYGON (((0 0, 1 0, 0 0)))"
    assert to_wkt({"type": "GeometryCollection", "geometries": [
        {"type": "Point", "coordinates": [1, 2]}]}) == "GEOMETRYCOLLECTION (POINT (1 2))"
    assert to_wkt({"type": "Point", "coordinates": []}) == "POINT EMPTY"


@pytest.mark.parametrize("text, code", [
    ("[]", Code.EMPTY_FILE),
    ('[{"a": 1}, {"a": 2', Code.CORRUPT_JSON),
    ('[{"a": 1} {"a": 2}]', Code.CORRUPT_JSON),
    ("[1, 2]", Code.CORRUPT_JSON),
    ('{"a": 1}\n{"a": oops}\n', Code.CORRUPT_JSON),
    ('{"msg": "no list"}', Code.CORRUPT_JSON),
])
def test_bad_json(tmp_path, text, code):
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is code


def test_record_too_long(tmp_path):
    path = tmp_path / "long.json"
    path.write_text(json.dumps([{"a": "x" * 5000}, {"a": "y" * 200_000}]), encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path, limits=Limits(max_line_bytes=64 * 1024))
    assert exc.value.code is Code.LINE_TOO_LONG
