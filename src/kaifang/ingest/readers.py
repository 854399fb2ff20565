"""Open any supported upload as a stream of Arrow record batches (``open_table``).

CSV goes through ``pyarrow.csv.open_csv`` fed by ``Utf8Stream``: constant memory, any of the
supported encodings, and bad input reported with its line. See ``excel`` and ``jsonread`` for the
other formats.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from kaifang.i18n import _
from kaifang.ingest.base import (
    DEFAULT_BATCH_ROWS,
    TableReader,
    check_width,
    clean_names,
    ragged_error,
)
from kaifang.ingest.errors import Code, IngestError, human_bytes
from kaifang.ingest.limits import Limits, MiB
from kaifang.ingest.sniff import Format, Sniffed, check_size, sniff_file
from kaifang.ingest.textstream import Utf8Stream, open_utf8

MAX_RAGGED_REPORTED = 5


def open_table(
    path: str | Path,
    *,
    name: str | None = None,
    sniffed: Sniffed | None = None,
    sheet: str | int | None = None,
    limits: Limits = Limits(),
    batch_rows: int = DEFAULT_BATCH_ROWS,
    geometry: str = "wkt",
) -> TableReader:
    """A reader for ``path``; ``name`` (the uploaded file name) helps sniffing."""
    path = Path(path)
    sniffed = sniffed or sniff_file(path, name, limits)
    if sniffed.format in (Format.CSV, Format.TSV):
        return CsvReader(path, sniffed, limits)
    if sniffed.format is Format.XLSX:
        from kaifang.ingest.excel import XlsxReader

        return XlsxReader(path, sheet=sheet, limits=limits, batch_rows=batch_rows)
    if sniffed.format is Format.XLS:
        from kaifang.ingest.excel import XlsReader

        return XlsReader(path, sheet=sheet, limits=limits, batch_rows=batch_rows)
    from kaifang.ingest.jsonread import JsonReader

    return JsonReader(path, sniffed, limits=limits, batch_rows=batch_rows, geometry=geometry)


def read_table(path: str | Path, **options: Any) -> pa.Table:
    """The whole file as one Arrow table (for small files and tests)."""
    with open_table(path, **options) as reader:
        return reader.read_all()


class CsvReader(TableReader):
    def __init__(self, path: Path, sniffed: Sniffed, limits: Limits) -> None:
        self.path = path
        self.sniffed = sniffed
        self.limits = limits
        self.size = path.stat().st_size
        check_size(self.size, limits)
        self.encoding = sniffed.encoding or "utf-8"
        self.delimiter = sniffed.delimiter or ","
        self.raw_header = self._read_header()
        check_width(len(self.raw_header), limits.max_columns)
        info = {"format": str(sniffed.format), "encoding": self.encoding,
                "delimiter": self.delimiter, "header_rows": 1}
        super().__init__(clean_names(self.raw_header), info)
        self._stream: Utf8Stream | None = None
        self._ragged: list[str] = []

    def _open(self) -> Utf8Stream:
        return open_utf8(str(self.path), self.encoding,
                         max_line_bytes=self.limits.max_line_bytes, total_bytes=self.size)

    def _records(self, stream: Utf8Stream) -> Any:
        text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8", newline="")
        return csv.reader(text, delimiter=self.delimiter)

    def _read_header(self) -> list[str]:
        with self._open() as stream:
            try:
                for row in self._records(stream):
                    if any(cell.strip() for cell in row):
                        return row
            except csv.Error as exc:
                raise IngestError(Code.CORRUPT_CSV, _("The CSV file cannot be parsed: %(reason)s",
                                                      reason=str(exc))) from None
        raise IngestError(Code.EMPTY_FILE, _("The file is empty."))

    def fraction(self) -> float:
        return self._stream.fraction() if self._stream else 0.0

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()

    def _on_invalid(self, row: pacsv.InvalidRow) -> str:
        self._ragged.append(row.text[:200])
        return "error" if len(self._ragged) >= MAX_RAGGED_REPORTED else "skip"

    def _batches(self) -> Iterator[pa.RecordBatch]:
        self._stream = self._open()
        try:
            # Arrow parses the first block already when opening, so errors can come from here.
            reader = self._open_csv(self._stream)
            for batch in reader:
                yield self._normalise(batch)
        except pa.ArrowInvalid as exc:
            raise self._parse_error(exc) from None
        finally:
            self._stream.close()
        if self._ragged:
            raise self._ragged_error()

    def _open_csv(self, stream: Utf8Stream) -> pacsv.CSVStreamingReader:
        # A block must hold the longest allowed record, transcoded to UTF-8 (up to 1.5× longer).
        block = max(4 * MiB, 2 * self.limits.max_line_bytes)
        return pacsv.open_csv(
            pa.PythonFile(stream, mode="r"),
            read_options=pacsv.ReadOptions(block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=True,
                invalid_row_handler=self._on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in self.raw_header},
                strings_can_be_null=True,
                null_values=[""],
                check_utf8=False,  # Utf8Stream has validated every byte already
            ),
        )

    def _normalise(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        arrays = [col if col.type == pa.string() else col.cast(pa.string()) for col in batch.columns]
        return pa.RecordBatch.from_arrays(arrays, names=self.columns)

    def _parse_error(self, exc: pa.ArrowInvalid) -> IngestError:
        if self._ragged:
            return self._ragged_error()
        text = str(exc)
        if "straddl" in text:  # a quoted field longer than a block
            return IngestError(
                Code.LINE_TOO_LONG,
                _("A record is longer than the limit of %(limit)s.",
                  limit=human_bytes(self.limits.max_line_bytes)),
                {"limit": self.limits.max_line_bytes},
            )
        return IngestError(Code.CORRUPT_CSV, _("The CSV file cannot be parsed: %(reason)s",
                                               reason=text[:200]), {"reason": text[:500]})

    def _ragged_error(self) -> IngestError:
        return ragged_error(self._ragged_lines(), self._ragged)

    def _ragged_lines(self) -> list[int]:
        """Line numbers of the first bad rows: Arrow's streaming reader does not know them, so
        re-read the file with the csv module, on this error path only, and stop early."""
        expected = len(self.raw_header)
        found: list[int] = []
        with self._open() as stream:
            reader = self._records(stream)
            line = 0
            header_seen = False
            for row in _tolerant(reader):
                start = line + 1
                line = reader.line_num
                if not row:  # Arrow skips empty lines too
                    continue
                if not header_seen:
                    header_seen = True
                elif len(row) != expected:
                    found.append(start)
                    if len(found) >= MAX_RAGGED_REPORTED:
                        break
        return found


def _tolerant(reader: Any) -> Iterator[list[str]]:
    """Rows until the csv module gives up (a field over its size limit): the line search is a
    best effort on an error path."""
    try:
        yield from reader
    except csv.Error:
        return
