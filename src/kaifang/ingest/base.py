"""What every reader shares: a stream of Arrow record batches of text columns, plus facts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from typing import Any

import pyarrow as pa

from kaifang.i18n import _
from kaifang.ingest.errors import Code, IngestError

DEFAULT_BATCH_ROWS = 65_536


class TableReader:
    """Iterate once over ``pa.RecordBatch`` es whose columns are all nullable strings.

    Readers keep values as text (exactly as the source shows them, so that leading zeros and the
    ``X`` of ID numbers survive); typing happens later, against the declared data items.
    """

    def __init__(self, columns: Sequence[str], info: dict[str, Any]) -> None:
        self.columns = list(columns)
        self.schema = pa.schema([pa.field(name, pa.string()) for name in self.columns])
        self.info = info
        self.rows_read = 0

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        for batch in self._batches():
            if batch.num_rows:
                self.rows_read += batch.num_rows
                yield batch
        if self.rows_read == 0:
            raise IngestError(Code.HEADER_ONLY, _("The file has a header row but no data rows."))

    def _batches(self) -> Iterator[pa.RecordBatch]:  # pragma: no cover - abstract
        raise NotImplementedError

    def fraction(self) -> float:
        """Share of the source consumed so far, 0–1 (by bytes where the format allows)."""
        return 0.0

    def close(self) -> None:
        """Release file handles; safe to call twice."""

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read_all(self) -> pa.Table:
        return pa.Table.from_batches(list(self), schema=self.schema)


def clean_names(raw: Sequence[object]) -> list[str]:
    """Header cells → unique, non-empty column names (whitespace and line breaks collapsed)."""
    names: list[str] = []
    used: set[str] = set()
    for index, value in enumerate(raw):
        text = "" if value is None else "".join(ch for ch in str(value) if ch.isprintable()
                                                or ch.isspace())
        name = " ".join(text.replace("\ufeff", "").split())
        base = name or f"column_{index + 1}"
        name, suffix = base, 2
        while name in used:
            name, suffix = f"{base}_{suffix}", suffix + 1
        used.add(name)
        names.append(name)
    return names


def check_width(width: int, max_columns: int) -> None:
    if width > max_columns:
        raise IngestError(
            Code.TOO_MANY_COLUMNS,
            _("The file has %(count)s columns, more than the limit of %(limit)s.",
              count=width, limit=max_columns),
            {"columns": width, "limit": max_columns},
        )


def cell_text(value: object) -> str | None:
    """A spreadsheet or JSON value as the text a person would read in the source."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Spreadsheets hold 15 significant digits; more would show binary noise (0.30000000000000004).
        return format(value, ".15g")
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def batch_from_rows(columns: Sequence[str], rows: list[list[str | None]]) -> pa.RecordBatch:
    """Row lists (already of the right width) → one batch; transposed with zip, no per-cell work."""
    arrays = [pa.array(list(col), type=pa.string()) for col in zip(*rows, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def ragged_error(lines: list[int], texts: list[str] | None = None) -> IngestError:
    shown = ", ".join(str(n) for n in lines)
    return IngestError(
        Code.RAGGED_ROWS,
        _("Some rows have a different number of cells from the header (lines %(lines)s).",
          lines=shown or "?"),
        {"lines": lines, "rows": texts or []},
    )
