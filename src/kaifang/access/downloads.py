"""A download from start to end: the checked request, the stream of the chosen format, the log
row written before the first byte and completed with the byte count and SHA-256 after the last.

While a download streams, whether it may go on is checked again every few seconds: withdrawing
the dataset or suspending the grant stops a download already running (LYG 26, 40).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from sqlalchemy.orm import Session, sessionmaker

from kaifang.access import log as access_log
from kaifang.access.columns import ColumnKind
from kaifang.access.engine import QueryEngine
from kaifang.access.exports import (
    ENCODINGS,
    MEDIA_TYPES,
    XLSX_MAX_ROWS,
    Format,
    Meter,
    csv_stream,
    geojson_stream,
    json_stream,
    parquet_stream,
    xlsx_stream,
)
from kaifang.access.query import Condition, SortKey, parse_bool, parse_fields, parse_filters, parse_sort
from kaifang.access.reads import count_rows
from kaifang.access.scope import Scope
from kaifang.access.sql import compile_export
from kaifang.errors import InvalidParameter
from kaifang.i18n import _

log = logging.getLogger("kaifang.access")
DOWNLOAD_PARAMS = frozenset({"fields", "sort", "bom", "encoding"})
RECHECK_SECONDS = 2.0


@dataclass(frozen=True)
class DownloadRequest:
    format: Format
    fields: tuple[str, ...]
    where: tuple[Condition, ...]
    sort: tuple[SortKey, ...]
    bom: bool = False
    encoding: str = "utf-8"

    def summary(self) -> dict[str, object]:
        return {"fields": list(self.fields), "where": [c.as_dict() for c in self.where],
                "sort": [k.as_text() for k in self.sort], "encoding": self.encoding, "bom": self.bom}


def parse_format(text: str) -> Format:
    try:
        return Format(text.lower())
    except ValueError:
        raise InvalidParameter("format", _("“%(f)s” is not a download format; use one of %(all)s.",
                                           f=text[:20], all=", ".join(f.value for f in Format))) from None


def parse_download(fmt: str, params: Sequence[tuple[str, str]], scope: Scope) -> DownloadRequest:
    chosen = parse_format(fmt)
    single = dict(params)
    encoding = (single.get("encoding") or "utf-8").strip().lower().replace("_", "-")
    if encoding not in ENCODINGS:
        raise InvalidParameter("encoding", _("Use one of %(all)s.", all=", ".join(ENCODINGS)))
    if encoding != "utf-8" and chosen is not Format.CSV:
        raise InvalidParameter("encoding", _("Only CSV files can be written in another encoding."))
    if chosen is Format.GEOJSON and scope.geo is None:
        raise InvalidParameter("format", _("This dataset has no positions (a geometry column, or longitude and "
                                           "latitude), so it has no GeoJSON form."))
    return DownloadRequest(chosen, parse_fields(single.get("fields"), scope.by_name),
                           parse_filters(params, scope.by_name, DOWNLOAD_PARAMS | {"format"}),
                           parse_sort(single.get("sort"), scope.by_name), parse_bool("bom", single.get("bom")),
                           encoding)


def file_name(scope: Scope, request: DownloadRequest) -> str:
    suffix = "" if not (request.where or request.fields != tuple(scope.by_name)) else "-extract"
    return f"{scope.entry_name}-v{scope.version_number}{suffix}.{request.format.value}"


def arrow_schema(scope: Scope, fields: Sequence[str]) -> pa.Schema:
    types = {ColumnKind.TEXT: pa.string(), ColumnKind.INTEGER: pa.int64(), ColumnKind.NUMBER: pa.float64(),
             ColumnKind.DATE: pa.date32(), ColumnKind.DATETIME: pa.timestamp("us"), ColumnKind.BOOLEAN: pa.bool_()}
    return pa.schema([(name, pa.string() if scope.by_name[name].pseudonymised else types[scope.by_name[name].kind])
                      for name in fields])


@dataclass
class RowCounter:
    rows: int = 0

    def cast(self, batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
        """The batches in the served types (pseudonyms are text), counted as they pass."""
        for batch in batches:
            self.rows += batch.num_rows
            yield batch if batch.schema.equals(schema) else batch.cast(schema)


@dataclass
class Download:
    """The response's pieces: a name, a media type and the chunks (consumed once)."""

    file_name: str
    media_type: str
    chunks: Iterator[bytes]
    counter: RowCounter


def open_download(engine: QueryEngine, scope: Scope, request: DownloadRequest, work_dir: Path) -> Download:
    if request.format is Format.XLSX and count_rows(engine, scope, request.where) > XLSX_MAX_ROWS:
        raise InvalidParameter("format", _("A spreadsheet holds at most %(n)s rows; this download has more. Use CSV "
                                           "or add filters.", n=f"{XLSX_MAX_ROWS:,}"))
    compiled = compile_export(scope.spec(engine.alias(scope.version)), request.fields, request.where, request.sort)
    counter = RowCounter()
    batches = counter.cast(engine.batches(compiled), arrow_schema(scope, request.fields))
    fmt = request.format
    if fmt is Format.CSV:
        chunks = csv_stream(batches, request.fields, bom=request.bom, encoding=request.encoding)
    elif fmt is Format.JSON:
        chunks = json_stream(batches)
    elif fmt is Format.PARQUET:
        chunks = parquet_stream(batches, arrow_schema(scope, request.fields))
    elif fmt is Format.GEOJSON:
        assert scope.geo is not None
        chunks = geojson_stream(batches, scope.geo)
    else:
        chunks = xlsx_stream(batches, request.fields, work_dir)
    media = MEDIA_TYPES[fmt] + ("; charset=" + request.encoding if fmt is Format.CSV else "")
    return Download(file_name(scope, request), media, chunks, counter)


def logged_stream(download: Download, factory: sessionmaker[Session], log_id: int, access: access_log.Access,
                  still_allowed: Callable[[Session], bool]) -> Iterator[bytes]:
    """The download's chunks, counted and hashed; the log row is completed however it ends."""
    meter = Meter()
    stopped = False

    def checked() -> Iterator[bytes]:
        # Checked before a chunk reaches the meter, so the log holds the size and hash of exactly
        # the bytes sent when access is withdrawn mid-stream.
        nonlocal stopped
        last = time.monotonic()
        for chunk in download.chunks:
            if time.monotonic() - last > RECHECK_SECONDS:
                last = time.monotonic()
                with factory() as session:
                    if not still_allowed(session):
                        log.warning("download %s stopped: access withdrawn while streaming", log_id)
                        stopped = True
                        return
            yield chunk

    try:
        yield from meter.wrap(checked())
    finally:
        access.bytes, access.sha256, access.complete = meter.size, meter.sha256, meter.complete and not stopped
        access.rows = download.counter.rows
        try:
            with factory() as session:
                access_log.finish(session, log_id, access)
                session.commit()
        except Exception:
            log.exception("could not complete access log row %s", log_id)
