"""CSV and XLSX writing for exports of a version, with spreadsheet formulas neutralised.

Downloads belong to the access layer; these are the helpers it writes with. Every text cell that
a spreadsheet could run as a formula (starting with = + - @, a tab or a carriage return, numbers
excepted) is prefixed with an apostrophe, so that opening an export never runs what a data row
said (CSV injection, see ``kaifang.ingest.safety``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from kaifang.ingest import neutralise_array, neutralise_cell


def export_csv_rows(rows: Iterable[Sequence[Any]]) -> Iterator[list[Any]]:
    """The rows with every risky text cell neutralised (for ``csv.writer.writerows``)."""
    for row in rows:
        yield [neutralise_cell(value) for value in row]


def export_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The same for a stream of Arrow batches, with Arrow kernels (large exports)."""
    for batch in batches:
        yield pa.RecordBatch.from_arrays([neutralise_array(column) for column in batch.columns],
                                         names=batch.schema.names)


def write_csv(out: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    writer = csv.writer(out)
    writer.writerow(next(export_csv_rows([columns])))
    writer.writerows(export_csv_rows(rows))


def export_xlsx(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], sheet: str = "data") -> None:
    """A workbook written row by row (constant memory); text cells are stored as text, never as
    formulas."""
    book = Workbook(write_only=True)
    table = book.create_sheet(sheet)
    for row in export_csv_rows(_chain(columns, rows)):
        table.append([_cell(table, value) for value in row])
    book.save(path)


def _chain(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[Sequence[Any]]:
    yield columns
    yield from rows


def _cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"  # openpyxl would otherwise store "=…" as a formula
    return cell
