"""Errors of the ingest pipeline: a stable ``code`` for programs, a localised message for people."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from kaifang.errors import KaifangError


class Code(StrEnum):
    EMPTY_FILE = "empty_file"
    HEADER_ONLY = "header_only"
    RAGGED_ROWS = "ragged_rows"
    UNDECODABLE = "undecodable"
    CORRUPT_XLSX = "corrupt_xlsx"
    ENCRYPTED_XLSX = "encrypted_xlsx"
    ZIP_BOMB = "zip_bomb"
    TOO_LARGE = "too_large"
    LINE_TOO_LONG = "line_too_long"
    CORRUPT_CSV = "corrupt_csv"
    CORRUPT_XLS = "corrupt_xls"
    CORRUPT_JSON = "corrupt_json"
    UNSUPPORTED_FORMAT = "unsupported_format"
    SHEET_NOT_FOUND = "sheet_not_found"
    TOO_MANY_COLUMNS = "too_many_columns"
    MISSING_COLUMNS = "missing_columns"
    INVALID_VALUES = "invalid_values"
    INVALID_PLAN = "invalid_plan"


class IngestError(KaifangError):
    """A file or a plan the pipeline cannot process; ``detail`` holds JSON-safe facts."""

    status_code = 422

    def __init__(self, code: Code | str, message: str, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = Code(code)
        self.detail = detail or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": str(self.code), "message": self.message, "detail": self.detail}


def human_bytes(size: int) -> str:
    """Sizes in messages: people read '8.0 MiB' more easily than '8388608'."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - loop always returns
