"""XLSX (openpyxl, read-only, streaming) and XLS (xlrd) sheets as record batches.

Government spreadsheets often start with a title row ("2024年…名单"), sometimes a blank row, and
use a two-row header whose parent cells are merged ("地址" over "省" and "区县"). The header is
found by looking at the first rows; a two-row header becomes "地址/省", "地址/区县".
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest.base import (
    DEFAULT_BATCH_ROWS,
    TableReader,
    batch_from_rows,
    cell_text,
    check_width,
    clean_names,
    ragged_error,
)
from kaifang.ingest.errors import Code, IngestError, human_bytes
from kaifang.ingest.limits import Limits
from kaifang.ingest.sniff import check_size, encrypted_error

HEADER_SCAN_ROWS = 30
MAX_RAGGED_REPORTED = 5
Row = Sequence[object]


@dataclass(frozen=True)
class Header:
    index: int
    """0-based position of the (first) header row among the scanned rows."""
    rows: int
    """1 or 2 header rows."""
    names: list[str]


def _filled(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def detect_header(rows: Sequence[Row]) -> Header:
    """The first row whose filled cells are many (not a title) and mostly text."""
    widths = [sum(_filled(v) for v in row) for row in rows]
    if not any(widths):
        raise IngestError(Code.EMPTY_FILE, _("The sheet is empty."))
    needed = max(min(2, max(widths)), math.ceil(max(widths) * 0.5))
    # Title and note rows above the table fill only a cell or two.
    candidates = [i for i, w in enumerate(widths) if w >= needed]
    index = candidates[0]
    for i in candidates:
        cells = [v for v in rows[i] if _filled(v)]
        if sum(isinstance(v, str) for v in cells) >= 0.8 * len(cells):
            index = i
            break
    parent = rows[index]
    child = rows[index + 1] if index + 1 < len(rows) else ()
    if _is_child_header(parent, child):
        return Header(index, 2, clean_names(_join_header(parent, child)))
    width = _last_filled(parent) + 1
    return Header(index, 1, clean_names(list(parent[:width])))


def _last_filled(row: Row) -> int:
    return max((i for i, v in enumerate(row) if _filled(v)), default=-1)


def _is_child_header(parent: Row, child: Row) -> bool:
    """A second header row: all text, with cells under a merged (empty) parent cell and empty
    cells under parents that span both rows vertically."""
    if not child or not all(isinstance(v, str) for v in child if _filled(v)):
        return False
    width = max(len(parent), len(child))
    p = list(parent) + [None] * (width - len(parent))
    c = list(child) + [None] * (width - len(child))
    under_merge = any(
        not _filled(p[j]) and _filled(c[j]) and any(_filled(v) for v in p[:j]) for j in range(width)
    )
    vertical = any(_filled(p[j]) and not _filled(c[j]) for j in range(width))
    return under_merge and vertical


def _join_header(parent: Row, child: Row) -> list[object]:
    width = max(_last_filled(parent), _last_filled(child)) + 1
    names: list[object] = []
    group: str | None = None  # the merged parent the current column falls under
    for j in range(width):
        p = parent[j] if j < len(parent) else None
        c = child[j] if j < len(child) else None
        if _filled(p):
            group = str(p).strip() if _filled(c) else None
            names.append(f"{group}/{str(c).strip()}" if group else p)
        elif _filled(c):
            names.append(f"{group}/{str(c).strip()}" if group else c)
        else:
            names.append(None)
    return names


class SheetReader(TableReader):
    """Shared logic: header detection over the first rows, then text batches."""

    def __init__(self, rows: Iterator[tuple[int, Row]], info: dict[str, object],
                 limits: Limits, batch_rows: int, total_rows: int | None) -> None:
        self._rows = rows
        self._head = [next(rows, None) for _ in range(HEADER_SCAN_ROWS)]
        head = [r for r in self._head if r is not None]
        if not head:
            raise IngestError(Code.EMPTY_FILE, _("The sheet is empty."))
        header = detect_header([values for _, values in head])
        check_width(len(header.names), limits.max_columns)
        self._data_start = header.index + header.rows
        self._head_rows = head
        self._batch_rows = batch_rows
        self._total = total_rows
        self._position = 0
        info = {**info, "header_row": head[header.index][0], "header_rows": header.rows}
        super().__init__(header.names, info)

    def fraction(self) -> float:
        return min(1.0, self._position / self._total) if self._total else 0.0

    def _all_rows(self) -> Iterator[tuple[int, Row]]:
        yield from self._head_rows[self._data_start :]
        yield from self._rows

    def _batches(self) -> Iterator[pa.RecordBatch]:
        width = len(self.columns)
        pending: list[list[str | None]] = []
        ragged: list[int] = []
        for number, values in self._all_rows():
            self._position = number
            texts = [cell_text(v) for v in values]
            if not any(t is not None for t in texts):
                continue  # blank spacer rows are common in hand-made sheets
            if any(t is not None for t in texts[width:]):
                ragged.append(number)
                if len(ragged) >= MAX_RAGGED_REPORTED:
                    break
                continue
            pending.append(texts[:width] + [None] * (width - len(texts)))
            if len(pending) >= self._batch_rows:
                yield batch_from_rows(self.columns, pending)
                pending = []
        if ragged:
            raise ragged_error(ragged)
        if pending:
            yield batch_from_rows(self.columns, pending)


def check_zip(path: Path, limits: Limits) -> None:
    """Refuse zip bombs from the central directory, before any member is inflated."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise corrupt_xlsx(str(exc)) from None
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        big = member.file_size > limits.ratio_floor_bytes
        if total > limits.max_uncompressed_bytes or (big and ratio > limits.max_compression_ratio):
            raise IngestError(
                Code.ZIP_BOMB,
                _("The spreadsheet would unpack to %(size)s (ratio %(ratio)s:1); this is refused "
                  "as unsafe.", size=human_bytes(total), ratio=int(ratio)),
                {"member": member.filename, "uncompressed": total, "ratio": round(ratio, 1)},
            )
    if "xl/workbook.xml" not in {m.filename for m in members}:
        raise corrupt_xlsx("xl/workbook.xml missing")


def corrupt_xlsx(reason: str) -> IngestError:
    return IngestError(
        Code.CORRUPT_XLSX,
        _("The spreadsheet is damaged or is not an Excel workbook."),
        {"reason": reason[:300]},
    )


def sheet_not_found(sheet: str | int, available: list[str]) -> IngestError:
    return IngestError(
        Code.SHEET_NOT_FOUND,
        _("There is no sheet %(sheet)s; the workbook has: %(sheets)s.",
          sheet=sheet, sheets="、".join(available)),
        {"sheet": sheet, "sheets": available},
    )


class XlsxReader(SheetReader):
    def __init__(self, path: Path, *, sheet: str | int | None = None, limits: Limits = Limits(),
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        import openpyxl

        check_size(path.stat().st_size, limits)
        check_zip(path, limits)
        try:
            self._book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for damaged parts
            raise corrupt_xlsx(f"{type(exc).__name__}: {exc}") from None
        names = list(self._book.sheetnames)
        if sheet is None:
            ws = self._book.active or self._book.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise sheet_not_found(sheet, names)
            ws = self._book.worksheets[sheet]
        elif sheet in names:
            ws = self._book[sheet]
        else:
            raise sheet_not_found(sheet, names)
        rows = enumerate(ws.iter_rows(values_only=True), start=ws.min_row or 1)
        info = {"format": "xlsx", "sheet": ws.title, "sheets": names}
        try:
            super().__init__(rows, info, limits, batch_rows, ws.max_row)
        except Exception:
            self.close()
            raise

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from super()._batches()
        except (KeyError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise corrupt_xlsx(f"{type(exc).__name__}: {exc}") from None

    def close(self) -> None:
        self._book.close()


class XlsReader(SheetReader):
    def __init__(self, path: Path, *, sheet: str | int | None = None, limits: Limits = Limits(),
                 batch_rows: int = DEFAULT_BATCH_ROWS) -> None:
        import xlrd

        check_size(path.stat().st_size, limits)
        try:
            book = xlrd.open_workbook(str(path), on_demand=True)
        except xlrd.XLRDError as exc:
            if "encrypt" in str(exc).lower():
                raise encrypted_error() from None
            raise _corrupt_xls(str(exc)) from None
        except Exception as exc:  # xlrd's compound-document parser raises assorted errors
            raise _corrupt_xls(f"{type(exc).__name__}: {exc}") from None
        names = book.sheet_names()
        if sheet is None:
            index = 0
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            index = sheet
        elif isinstance(sheet, str) and sheet in names:
            index = names.index(sheet)
        else:
            raise sheet_not_found(sheet, names)
        ws = book.sheet_by_index(index)
        self._book = book
        rows = ((i + 1, _xls_row(book, ws, i)) for i in range(ws.nrows))
        super().__init__(rows, {"format": "xls", "sheet": ws.name, "sheets": names},
                         limits, batch_rows, ws.nrows)

    def close(self) -> None:
        self._book.release_resources()


def _xls_row(book: object, ws: object, index: int) -> list[object]:
    import xlrd

    values: list[object] = []
    for cell in ws.row(index):  # type: ignore[attr-defined]
        if cell.ctype == xlrd.XL_CELL_DATE:
            values.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))  # type: ignore[attr-defined]
        elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
            values.append(bool(cell.value))
        elif cell.ctype == xlrd.XL_CELL_ERROR:
            values.append(xlrd.error_text_from_code.get(cell.value, "#ERR"))
        elif cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
            values.append(None)
        else:
            values.append(cell.value)
    return values


def _corrupt_xls(reason: str) -> IngestError:
    return IngestError(
        Code.CORRUPT_XLS,
        _("The spreadsheet is damaged or is not an Excel workbook."),
        {"reason": reason[:300]},
    )
