"""WKT → GeoJSON geometry, the inverse of the ingest's GeoJSON reader (``ingest.jsonread.to_wkt``).

Versions keep geometries as WKT text; GeoJSON downloads turn them back. A small recursive-descent
reader over the seven OGC types (with Z values and EMPTY) is all that needs, and avoids a GEOS
dependency for a text conversion.
"""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\s*(?:([A-Za-z]+)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(\()|(\))|(,))")
NAMES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
         "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon",
         "GEOMETRYCOLLECTION": "GeometryCollection"}
DEPTH = {"Point": 0, "LineString": 1, "MultiPoint": 1, "Polygon": 2, "MultiLineString": 2, "MultiPolygon": 3}


class WktError(ValueError):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        text = text.strip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise WktError(f"unexpected text at {position}")
            kind = next(i for i, g in enumerate(match.groups()) if g is not None)
            self.tokens.append((("word", "number", "(", ")", ",")[kind], match.group(kind + 1)))
            position = match.end()
        self.at = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        found, value = self.peek()
        if found != kind:
            raise WktError(f"expected {kind}, found {found}")
        self.at += 1
        return value

    def geometry(self) -> dict[str, Any] | None:
        word = self.take("word").upper()
        if word not in NAMES:
            raise WktError(f"unknown geometry {word}")
        kind = NAMES[word]
        if self.peek()[0] == "word" and self.peek()[1].upper() in ("Z", "M", "ZM"):
            self.at += 1
        if self.peek()[0] == "word" and self.peek()[1].upper() == "EMPTY":
            self.at += 1
            return {"type": kind, "geometries": []} if kind == "GeometryCollection" else {"type": kind,
                                                                                        "coordinates": []}
        if kind == "GeometryCollection":
            self.take("(")
            parts = [self.geometry()]
            while self.peek()[0] == ",":
                self.at += 1
                parts.append(self.geometry())
            self.take(")")
            return {"type": kind, "geometries": [p for p in parts if p is not None]}
        return {"type": kind, "coordinates": self.nested(DEPTH[kind], point_list=kind == "MultiPoint")}

    def position(self) -> list[float]:
        numbers = [float(self.take("number"))]
        while self.peek()[0] == "number":
            numbers.append(float(self.take("number")))
        if len(numbers) < 2:
            raise WktError("a position needs two numbers")
        return numbers

    def nested(self, depth: int, point_list: bool = False) -> Any:
        """Depth 0: ``(x y)``; 1: ``(x y, x y)``; 2: ``((…), (…))``; 3: ``(((…)), ((…)))``."""
        self.take("(")
        if depth == 0:
            out: Any = self.position()
        elif depth == 1:
            out = [self._point(point_list)]
            while self.peek()[0] == ",":
                self.at += 1
                out.append(self._point(point_list))
        else:
            out = [self.nested(depth - 1)]
            while self.peek()[0] == ",":
                self.at += 1
                out.append(self.nested(depth - 1))
        self.take(")")
        return out

    def _point(self, may_wrap: bool) -> list[float]:
        # MULTIPOINT ((1 2), (3 4)) and MULTIPOINT (1 2, 3 4) are both written.
        if may_wrap and self.peek()[0] == "(":
            self.at += 1
            point = self.position()
            self.take(")")
            return point
        return self.position()


def from_wkt(text: str | None) -> dict[str, Any] | None:
    """The GeoJSON geometry of a WKT text; None for an empty value or one that is not WKT."""
    if not text or not text.strip():
        return None
    try:
        reader = _Reader(text)
        geometry = reader.geometry()
        if reader.peek()[0] != "end":
            raise WktError("text after the geometry")
        return geometry
    except WktError:
        return None


def point(lng: Any, lat: Any) -> dict[str, Any] | None:
    try:
        x, y = float(lng), float(lat)
    except (TypeError, ValueError):
        return None
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return None
    return {"type": "Point", "coordinates": [x, y]}
