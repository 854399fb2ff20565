"""A minimal legacy Excel (BIFF8) workbook writer, for tests only: no library writing .xls ships
with the project, and the reader must be tested on a real file.

The workbook stream holds the globals (BOF, a font, cell formats "General" and a date format,
one sheet entry, EOF) and one sheet of LABEL / NUMBER / BOOLERR cells, inside a version-3
compound file (512-byte sectors, one FAT sector, one directory sector).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Sequence

FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
SECTOR = 512
GENERAL_XF, DATE_XF = 0, 1
EXCEL_EPOCH = dt.datetime(1899, 12, 30)


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _unicode(text: str, length_bytes: int) -> bytes:
    size = struct.pack("<B" if length_bytes == 1 else "<H", len(text))
    return size + b"\x01" + text.encode("utf-16-le")


def _globals(sheet_name: str, sheet_offset: int, encrypted: bool) -> bytes:
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0))
    if encrypted:  # FILEPASS: what Excel writes when a password protects the file
        bof += _record(0x002F, struct.pack("<HHH", 1, 1, 1) + b"\0" * 48)
    font = _record(0x0031, struct.pack("<HHHHHBBBB", 200, 0, 0x7FFF, 400, 0, 0, 0, 0, 0)
                   + _unicode("Arial", 1))
    xfs = b"".join(_record(0x00E0, struct.pack("<HHH", 0, fmt, 0xFFF5 if i == 0 else 0x0001)
                           + b"\x20\x00\x00\x00" + b"\x00" * 8 + b"\xc0\x20")
                   for i, fmt in enumerate((0, 14)))
    sheet = _record(0x0085, struct.pack("<IBB", sheet_offset, 0, 0) + _unicode(sheet_name, 1))
    return bof + font + xfs + sheet + _record(0x000A, b"")


def _cell(row: int, col: int, value: object) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bool):
        return _record(0x0205, struct.pack("<HHHBB", row, col, GENERAL_XF, int(value), 0))
    if isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day) if not isinstance(
            value, dt.datetime) else value
        serial = (moment - EXCEL_EPOCH).total_seconds() / 86400
        return _record(0x0203, struct.pack("<HHHd", row, col, DATE_XF, serial))
    if isinstance(value, int | float):
        return _record(0x0203, struct.pack("<HHHd", row, col, GENERAL_XF, float(value)))
    return _record(0x0204, struct.pack("<HHH", row, col, GENERAL_XF) + _unicode(str(value), 2))


def _sheet(rows: Sequence[Sequence[object]]) -> bytes:
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0))
    width = max((len(r) for r in rows), default=0)
    dims = _record(0x0200, struct.pack("<IIHHH", 0, len(rows), 0, width, 0))
    cells = b"".join(_cell(r, c, v) for r, row in enumerate(rows) for c, v in enumerate(row))
    return bof + dims + cells + _record(0x000A, b"")


def _dir_entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
    encoded = (name + "\0").encode("utf-16-le") if name else b""
    return (encoded.ljust(64, b"\0") + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", NO_STREAM, NO_STREAM, child) + b"\0" * 16
            + struct.pack("<I", 0) + b"\0" * 16 + struct.pack("<III", start, size, 0))


def xls_bytes(rows: Sequence[Sequence[object]], sheet_name: str = "Sheet1",
              encrypted: bool = False) -> bytes:
    """A .xls file with one sheet holding ``rows`` (str, int, float, bool, date, None)."""
    first = _globals(sheet_name, 0, encrypted)
    stream = _globals(sheet_name, len(first), encrypted) + _sheet(rows)
    stream = stream.ljust(max(4096, -(-len(stream) // SECTOR) * SECTOR), b"\0")
    sectors = len(stream) // SECTOR
    fat = [FAT_SECTOR, END] + [2 + i + 1 for i in range(sectors - 1)] + [END]
    fat += [FREE] * (SECTOR // 4 - len(fat))
    directory = (_dir_entry("Root Entry", 5, 1, END, 0)
                 + _dir_entry("Workbook", 2, NO_STREAM, 2, len(stream))
                 + _dir_entry("", 0, NO_STREAM, 0, 0) * 2)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, END, 0, END, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREE) * 108)
    return header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory + stream
