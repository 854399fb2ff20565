"""Downloads as byte streams written batch by batch, so memory stays flat whatever the size.

Every format neutralises spreadsheet formulas in text cells (``ingest.safety``): CSV and XLSX
because spreadsheets open them, the others because they are turned into spreadsheets often enough.
The stream is counted and hashed as it leaves (``Meter``), so the access log holds the SHA-256 of
exactly the bytes the recipient got.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from kaifang.access.geo import from_wkt, point
from kaifang.access.scope import Geo
from kaifang.datasets.export import export_batches, export_xlsx
from kaifang.ingest import neutralise_cell

CHUNK = 1 << 20
XLSX_MAX_ROWS = 1_048_575  # a sheet holds 1,048,576 rows, one of them the header
BOM = b"\xef\xbb\xbf"


class Format(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    PARQUET = "parquet"
    GEOJSON = "geojson"


MEDIA_TYPES = {
    Format.CSV: "text/csv", Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.JSON: "application/json", Format.PARQUET: "application/vnd.apache.parquet",
    Format.GEOJSON: "application/geo+json",
}
ENCODINGS = ("utf-8", "gbk", "gb18030")


@dataclass
class Meter:
    """Counts and hashes the bytes of a stream while passing them on."""

    size: int = 0
    complete: bool = False

    def __post_init__(self) -> None:
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if chunk:
                self._hash.update(chunk)
                self.size += len(chunk)
                yield chunk
        self.complete = True


def _coalesce(chunks: Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """Joins small pieces into chunks of about ``size`` bytes (fewer, larger writes)."""
    pending: list[bytes] = []
    length = 0
    for chunk in chunks:
        pending.append(chunk)
        length += len(chunk)
        if length >= size:
            yield b"".join(pending)
            pending, length = [], 0
    if pending:
        yield b"".join(pending)


class _Sink(io.RawIOBase):
    """A write-only file whose bytes are taken out after each write (for Parquet)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        out, self.parts = b"".join(self.parts), []
        return out


def csv_stream(batches: Iterable[pa.RecordBatch], columns: Sequence[str], *, bom: bool = False,
               encoding: str = "utf-8") -> Iterator[bytes]:
    def pieces() -> Iterator[bytes]:
        header = io.StringIO()
        header.write(",".join(_csv_field(str(neutralise_cell(c))) for c in columns) + "\r\n")
        yield header.getvalue().encode("utf-8")
        options = pacsv.WriteOptions(include_header=False, quoting_style="needed", eol="\r\n")
        for batch in export_batches(batches):
            sink = io.BytesIO()
            pacsv.write_csv(batch, sink, options)
            yield sink.getvalue()

    encoded = pieces() if encoding == "utf-8" else (p.decode("utf-8").encode(encoding, "replace") for p in pieces())
    if bom and encoding == "utf-8":
        return _coalesce(_prefixed(BOM, encoded))
    return _coalesce(encoded)


def _prefixed(first: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def json_stream(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """A JSON array of objects, one per row."""
    def pieces() -> Iterator[bytes]:
        yield b"["
        first = True
        for batch in export_batches(batches):
            if batch.num_rows == 0:
                continue
            body = orjson.dumps(batch.to_pylist(), option=orjson.OPT_NON_STR_KEYS)[1:-1]
            yield body if first else b"," + body
            first = False
        yield b"]"
    return _coalesce(pieces())


def parquet_stream(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    def pieces() -> Iterator[bytes]:
        sink = _Sink()
        with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
            for batch in export_batches(batches):
                writer.write_batch(batch)
                yield sink.drain()
        yield sink.drain()
    return _coalesce(pieces())


def geojson_stream(batches: Iterable[pa.RecordBatch], geo: Geo) -> Iterator[bytes]:
    """A FeatureCollection; the position columns become the geometry, the rest the properties."""
    position = {geo.geometry, geo.lng, geo.lat} - {None}

    def feature(row: dict[str, Any]) -> dict[str, Any]:
        if geo.geometry is not None:
            geometry = from_wkt(row.get(geo.geometry))
        else:
            geometry = point(row.get(geo.lng or ""), row.get(geo.lat or ""))
        return {"type": "Feature", "geometry": geometry,
                "properties": {k: v for k, v in row.items() if k not in position}}

    def pieces() -> Iterator[bytes]:
        yield b'{"type":"FeatureCollection","features":['
        first = True
        for batch in export_batches(batches):
            if batch.num_rows == 0:
                continue
            body = orjson.dumps([feature(r) for r in batch.to_pylist()], option=orjson.OPT_NON_STR_KEYS)[1:-1]
            yield body if first else b"," + body
            first = False
        yield b"]}"
    return _coalesce(pieces())


def xlsx_stream(batches: Iterable[pa.RecordBatch], columns: Sequence[str], folder: Path) -> Iterator[bytes]:
    """A workbook needs its whole zip written before it can be sent: it is written row by row to a
    temporary file (openpyxl's write-only mode keeps memory flat), then streamed and deleted."""
    def rows() -> Iterator[Sequence[Any]]:
        for batch in batches:
            yield from zip(*(column.to_pylist() for column in batch.columns), strict=True)

    def pieces() -> Iterator[bytes]:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(suffix=".xlsx", dir=folder)
        os.close(handle)
        path = Path(name)
        try:
            export_xlsx(path, columns, rows())
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    yield chunk
        finally:
            path.unlink(missing_ok=True)
    return pieces()
