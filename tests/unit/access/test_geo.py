"""WKT read back into GeoJSON geometries: the inverse of the ingest's GeoJSON reader."""

from __future__ import annotations

import pytest

from kaifang.access.geo import from_wkt, point
from kaifang.ingest.jsonread import to_wkt

GEOMETRIES = [
    {"type": "Point", "coordinates": [106.55, 29.56]},
    {"type": "LineString", "coordinates": [[106.5, 29.5], [106.6, 29.6]]},
    {"type": "Polygon", "coordinates": [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]]},
    {"type": "MultiPoint", "coordinates": [[1.0, 2.0], [3.0, 4.0]]},
    {"type": "MultiLineString", "coordinates": [[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]]},
    {"type": "MultiPolygon", "coordinates": [[[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1.0, 2.0]}]},
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: g["type"])
def test_round_trip_through_the_ingest_writer(geometry):
    assert from_wkt(to_wkt(geometry)) == geometry


@pytest.mark.parametrize(("text", "expected"), [
    ("POINT Z (1 2 3)", {"type": "Point", "coordinates": [1.0, 2.0, 3.0]}),
    ("point(-1.5e1 .5)", {"type": "Point", "coordinates": [-15.0, 0.5]}),
    ("MULTIPOINT (1 2, 3 4)", {"type": "MultiPoint", "coordinates": [[1.0, 2.0], [3.0, 4.0]]}),
    ("POLYGON EMPTY", {"type": "Polygon", "coordinates": []}),
    ("GEOMETRYCOLLECTION EMPTY", {"type": "GeometryCollection", "geometries": []}),
])
def test_variants_written_by_other_tools(text, expected):
    assert from_wkt(text) == expected


@pytest.mark.parametrize("text", [None, "", "  ", "POINT (1)", "POINT (1 2", "CIRCLE (1 2)", "POINT (1 2) x",
                                  "POINT (a b)", "重庆市"])
def test_text_that_is_not_wkt_has_no_geometry(text):
    assert from_wkt(text) is None


def test_points_from_longitude_and_latitude():
    assert point("106.55", 29.56) == {"type": "Point", "coordinates": [106.55, 29.56]}
    assert point(None, 29.5) is None and point("东经", 29.5) is None and point(181, 0) is None
