"""JSON arrays, JSON Lines and GeoJSON FeatureCollections as record batches, in bounded memory.

A JSON array is scanned element by element with ``json.JSONDecoder.raw_decode`` over decoded
chunks, so a 1 GB array never sits in memory at once; only one record (bounded by
``Limits.max_line_bytes``) does. The column set is the union of the records' keys, found in a
first pass so that the schema is known before the first batch.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest.base import (
    DEFAULT_BATCH_ROWS,
    TableReader,
    batch_from_rows,
    cell_text,
    check_width,
    clean_names,
)
from kaifang.ingest.errors import Code, IngestError, human_bytes
from kaifang.ingest.limits import Limits
from kaifang.ingest.sniff import Format, Sniffed, check_size
from kaifang.ingest.textstream import Utf8Stream, open_utf8

_WS = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()
CHUNK = 1 << 20
NEAR_END = 1024


def corrupt_json(reason: str, position: int | None = None) -> IngestError:
    return IngestError(
        Code.CORRUPT_JSON,
        _("The JSON file is not valid: %(reason)s", reason=reason),
        {"reason": reason, "position": position},
    )


class JsonScanner:
    """Pull one JSON value at a time out of a stream of text chunks."""

    def __init__(self, chunks: Iterator[str], max_record: int) -> None:
        self._chunks = chunks
        self._max = max_record
        self.buf = ""
        self.pos = 0
        self._base = 0  # characters dropped from the front of buf
        self._eof = False

    def _more(self) -> bool:
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        if self.pos > CHUNK:  # drop what has been parsed, so memory stays bounded
            self._base += self.pos
            self.buf, self.pos = self.buf[self.pos :], 0
        self.buf += chunk
        return True

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos : self.pos + 1]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise corrupt_json(_("expected “%(char)s”", char=char), self._base + self.pos)
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # A value cut by the end of the buffer fails close to that end ("tru", "-4.",
                # '{"a": '), or as an unterminated string; more text will complete it. A real
                # syntax error stays where it is while the end moves away.
                near_end = len(self.buf) - exc.pos < NEAR_END
                if (near_end or exc.msg.startswith("Unterminated")) and self._grow():
                    continue
                raise corrupt_json(exc.msg, self._base + exc.pos) from None
            if end == len(self.buf) and not self._eof and self._grow():
                continue  # a number cut at the chunk boundary ("12" of "123")
            if end - self.pos > self._max:
                raise self._too_long()
            self.pos = end
            return obj

    def _grow(self) -> bool:
        if len(self.buf) - self.pos > self._max:
            raise self._too_long()
        return self._more()

    def _too_long(self) -> IngestError:
        return IngestError(
            Code.LINE_TOO_LONG,
            _("A record is longer than the limit of %(limit)s.", limit=human_bytes(self._max)),
            {"limit": self._max, "position": self._base + self.pos},
        )

    def array(self) -> Iterator[Any]:
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield self.value()
            char = self.peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                raise corrupt_json(_("expected “,” or “]”"), self._base + self.pos - 1)

    def records_in_object(self, key: str | None) -> Iterator[Any]:
        """Stream the array under ``key`` (GeoJSON "features"), or the first array of objects."""
        self.expect("{")
        found = False
        while self.peek() != "}":
            name = self.value()
            self.expect(":")
            start = self.peek()
            wanted = name == key if key else start == "[" and self._next_is_object()
            if wanted and not found:
                found = True
                yield from self.array()
            else:
                self.value()
            if self.peek() == ",":
                self.pos += 1
        if not found:
            raise corrupt_json(_("no list of records found"))

    def _next_is_object(self) -> bool:
        saved = self._base + self.pos  # absolute: peek may drop the front of the buffer
        self.pos += 1
        nxt = self.peek()
        self.pos = saved - self._base
        return nxt == "{"


def _text_chunks(stream: Utf8Stream) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk := stream.read(CHUNK):
        yield decoder.decode(chunk)
    yield decoder.decode(b"", True)


class JsonReader(TableReader):
    def __init__(self, path: Path, sniffed: Sniffed, *, limits: Limits = Limits(),
                 batch_rows: int = DEFAULT_BATCH_ROWS, geometry: str = "wkt") -> None:
        self.path = path
        self.sniffed = sniffed
        self.limits = limits
        self.batch_rows = batch_rows
        self.geometry = geometry
        self.size = path.stat().st_size
        check_size(self.size, limits)
        self._stream: Utf8Stream | None = None
        keys = self._keys()
        check_width(len(keys), limits.max_columns)
        self._keys_order = keys
        info = {"format": str(sniffed.format), "encoding": sniffed.encoding}
        super().__init__(clean_names(keys), info)

    def _open(self) -> Utf8Stream:
        # Minified JSON is one long line, so only JSON Lines get the line-length guard.
        jsonl = self.sniffed.format is Format.JSONL
        self._stream = open_utf8(str(self.path), self.sniffed.encoding or "utf-8",
                                 max_line_bytes=self.limits.max_line_bytes if jsonl else None,
                                 total_bytes=self.size)
        return self._stream

    def _records(self) -> Iterator[dict[str, Any]]:
        with self._open() as stream:
            for number, record in enumerate(self._values(stream), start=1):
                if not isinstance(record, dict):
                    raise corrupt_json(_("record %(number)s is not an object", number=number))
                yield self._flatten(record)

    def _values(self, stream: Utf8Stream) -> Iterator[Any]:
        if self.sniffed.format is Format.JSONL:
            yield from _json_lines(stream)
            return
        scanner = JsonScanner(_text_chunks(stream), self.limits.max_line_bytes)
        first = scanner.peek()
        if first == "[":
            yield from scanner.array()
        elif first == "{":
            geo = self.sniffed.format is Format.GEOJSON
            yield from scanner.records_in_object("features" if geo else None)
        else:
            raise corrupt_json(_("the file does not start with “[” or “{”"), 0)

    def _flatten(self, record: dict[str, Any]) -> dict[str, Any]:
        if record.get("type") != "Feature" or self.sniffed.format is not Format.GEOJSON:
            return record
        row = dict(record.get("properties") or {})
        if "id" in record:
            row.setdefault("id", record["id"])
        geometry = record.get("geometry")
        if self.geometry == "wkt":
            row["geometry"] = to_wkt(geometry) if geometry else None
        else:
            row["geometry"] = geometry
        return row

    def _keys(self) -> list[str]:
        keys: dict[str, None] = {}
        count = 0
        for record in self._records():
            count += 1
            keys.update(dict.fromkeys(record))
            if len(keys) > self.limits.max_columns:
                break
        if not count:
            raise IngestError(Code.EMPTY_FILE, _("The file is empty."))
        return list(keys)

    def fraction(self) -> float:
        return self._stream.fraction() if self._stream else 0.0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _batches(self) -> Iterator[pa.RecordBatch]:
        pending: list[list[str | None]] = []
        for record in self._records():
            pending.append([cell_text(record.get(key)) for key in self._keys_order])
            if len(pending) >= self.batch_rows:
                yield batch_from_rows(self.columns, pending)
                pending = []
        if pending:
            yield batch_from_rows(self.columns, pending)


def _json_lines(stream: Utf8Stream) -> Iterator[Any]:
    import io

    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", newline="")
    for number, line in enumerate(text, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise corrupt_json(_("line %(line)s: %(reason)s", line=number, reason=exc.msg),
                               number) from None


def _coords(points: Any) -> str:
    return ", ".join(" ".join(_num(v) for v in point) for point in points)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _rings(rings: Any) -> str:
    return ", ".join(f"({_coords(ring)})" for ring in rings)


def to_wkt(geometry: dict[str, Any]) -> str:
    """GeoJSON geometry → WKT (the text form every GIS and DuckDB's spatial extension reads)."""
    kind = geometry.get("type", "")
    coords = geometry.get("coordinates")
    if kind == "GeometryCollection":
        parts = ", ".join(to_wkt(g) for g in geometry.get("geometries") or [])
        return f"GEOMETRYCOLLECTION ({parts})" if parts else "GEOMETRYCOLLECTION EMPTY"
    name = kind.upper()
    if not coords:
        return f"{name} EMPTY"
    if kind == "Point":
        body = _coords([coords])
    elif kind in ("LineString", "MultiPoint"):
        body = _coords(coords)
    elif kind in ("Polygon", "MultiLineString"):
        body = _rings(coords)
    elif kind == "MultiPolygon":
        body = ", ".join(f"({_rings(polygon)})" for polygon in coords)
    else:
        raise corrupt_json(_("unknown geometry type %(type)s", type=kind or "?"))
    return f"{name} ({body})"
