"""Recognise the format, text encoding and CSV delimiter of an upload from a bounded sample.

Only the head (and a small tail) of a file is read, so sniffing a 10 GB file costs the same as
sniffing a 10 kB one.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from kaifang.i18n import _
from kaifang.ingest.errors import Code, IngestError, human_bytes
from kaifang.ingest.limits import Limits

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
CFB_MAGIC = b"\xd0\xcf\x11\xe0"
# Names of the streams an encrypted OOXML package keeps inside its CFB container (UTF-16LE).
ENCRYPTION_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))
TEXT_ENCODINGS = ("utf-8", "gbk", "gb18030")
DELIMITERS = (",", "\t", ";", "|")
TAIL_BYTES = 64 * 1024
XLSX_EXTENSIONS = (".xlsx", ".xlsm")


class Format(StrEnum):
    CSV = "csv"
    TSV = "tsv"
    XLSX = "xlsx"
    XLS = "xls"
    JSON = "json"
    JSONL = "jsonl"
    GEOJSON = "geojson"


@dataclass(frozen=True)
class Sniffed:
    format: Format
    encoding: str | None = None
    """Codec name for text formats: utf-8, utf-8-sig, gbk, gb18030 or utf-16."""
    delimiter: str | None = None

    @property
    def is_text(self) -> bool:
        return self.format not in (Format.XLSX, Format.XLS)


def sniff_file(path: str | Path, name: str | None = None, limits: Limits = Limits()) -> Sniffed:
    """Sniff a file on disk; raises ``too_large`` and ``empty_file`` before reading much."""
    path = Path(path)
    size = path.stat().st_size
    check_size(size, limits)
    with path.open("rb") as fh:
        head = fh.read(limits.sniff_bytes)
        tail = b""
        if size > len(head):
            fh.seek(max(len(head), size - TAIL_BYTES))
            tail = fh.read(TAIL_BYTES)
    return sniff_bytes(head, name or path.name, tail=tail, complete=size <= len(head))


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise IngestError(
            Code.TOO_LARGE,
            _("The file is %(size)s, larger than the limit of %(limit)s.",
              size=human_bytes(size), limit=human_bytes(limits.max_bytes)),
            {"size": size, "limit": limits.max_bytes},
        )
    if size == 0:
        raise _empty()


def _empty() -> IngestError:
    return IngestError(Code.EMPTY_FILE, _("The file is empty."))


def sniff_bytes(head: bytes, name: str = "", *, tail: bytes = b"", complete: bool = True) -> Sniffed:
    """Sniff from the first bytes of a file (``complete`` when they are the whole file)."""
    ext = Path(name).suffix.lower()
    if not head.strip():
        raise _empty()
    if head.startswith(ZIP_MAGIC):
        if ext in XLSX_EXTENSIONS or b"[Content_Types].xml" in head or b"xl/" in head:
            return Sniffed(Format.XLSX)
        raise _unsupported(name)
    if head.startswith(CFB_MAGIC):
        return _sniff_cfb(head + tail, ext)
    encoding = detect_encoding(head, complete=complete, tail=tail)
    text = _decode_sample(head, encoding, complete)
    return _sniff_text(text, encoding, ext, complete)


def _sniff_cfb(sample: bytes, ext: str) -> Sniffed:
    """An OLE/CFB container: a legacy .xls, or an OOXML file encrypted with a password."""
    if any(marker in sample for marker in ENCRYPTION_MARKERS) or ext in XLSX_EXTENSIONS:
        raise encrypted_error()
    return Sniffed(Format.XLS)


def encrypted_error() -> IngestError:
    return IngestError(
        Code.ENCRYPTED_XLSX,
        _("The spreadsheet is protected by a password; save it without a password and upload "
          "it again."),
    )


def _unsupported(name: str) -> IngestError:
    return IngestError(
        Code.UNSUPPORTED_FORMAT,
        _("The format of %(name)s is not supported; use CSV, XLSX, XLS, JSON or GeoJSON.",
          name=name or "?"),
        {"name": name},
    )


def _sniff_text(text: str, encoding: str, ext: str, complete: bool) -> Sniffed:
    stripped = text.lstrip()
    if not stripped:
        raise _empty()
    if "\x00" in stripped:
        raise _unsupported(ext)
    first = stripped[0]
    if first == "[" and ext not in (".csv", ".tsv", ".txt"):
        return Sniffed(Format.JSON, encoding)
    if first == "{":
        if ext == ".geojson" or '"FeatureCollection"' in stripped or '"features"' in stripped:
            return Sniffed(Format.GEOJSON, encoding)
        lines = [line for line in stripped.splitlines()[:3] if line.strip()]
        if ext in (".jsonl", ".ndjson") or (len(lines) > 1 and lines[1].lstrip()[:1] == "{"):
            return Sniffed(Format.JSONL, encoding)
        return Sniffed(Format.JSON, encoding)
    delimiter = detect_delimiter(text, complete)
    if ext == ".tsv" and "\t" in text:
        delimiter = "\t"
    return Sniffed(Format.TSV if delimiter == "\t" else Format.CSV, encoding, delimiter)


def detect_encoding(sample: bytes, *, complete: bool = True, tail: bytes = b"") -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, GBK or GB18030.

    GBK is a subset of GB18030: a sample that GBK cannot decode but GB18030 can (four-byte
    sequences, rare characters of names) is reported as gb18030.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    errors = {enc: first_error(sample, enc, final=complete) for enc in TEXT_ENCODINGS}
    head_ok = [enc for enc in TEXT_ENCODINGS if errors[enc] is None]
    for encoding in head_ok:
        if _tail_decodes(tail, encoding):
            return encoding
    if head_ok:
        return head_ok[0]  # the reader will report the bad bytes in the tail with their offset
    offset, encoding = max((errors[enc] or 0, enc) for enc in TEXT_ENCODINGS)
    raise undecodable_error(encoding, offset, sample[:offset].count(b"\n") + 1)


def undecodable_error(encoding: str, offset: int, line: int) -> IngestError:
    return IngestError(
        Code.UNDECODABLE,
        _("The file cannot be read as %(encoding)s text: invalid bytes at offset %(offset)s "
          "(line %(line)s). Save it as UTF-8 or GB18030.",
          encoding=encoding, offset=offset, line=line),
        {"encoding": encoding, "offset": offset, "line": line},
    )


def first_error(data: bytes, encoding: str, *, final: bool) -> int | None:
    """Offset of the first byte that does not decode, or None."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(data, final)
    except UnicodeDecodeError as exc:
        return exc.start
    return None


def _tail_decodes(tail: bytes, encoding: str) -> bool:
    """The tail starts at an arbitrary byte, so accept it if it decodes from any of 4 offsets."""
    if not tail:
        return True
    return any(first_error(tail[skip:], encoding, final=True) is None for skip in range(4))


def _decode_sample(head: bytes, encoding: str, complete: bool) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, complete)


def detect_delimiter(text: str, complete: bool = True, max_rows: int = 50) -> str:
    """The candidate giving the most consistent number (> 1) of fields over the first rows."""
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # drop the cut-off last line
    best: tuple[float, int, int] = (0.0, 0, 0)
    choice = ","
    for rank, delimiter in enumerate(DELIMITERS):
        rows = itertools.islice(csv.reader(io.StringIO(text), delimiter=delimiter), max_rows)
        try:
            counts = [len(row) for row in rows if row]
        except csv.Error:  # a field over the csv module's limit: not this delimiter's problem
            counts = []
        if not counts:
            continue
        width, freq = Counter(counts).most_common(1)[0]
        if width < 2:
            continue
        # Consistency first (in 5 % steps), then the number of fields, then the usual order.
        score = (round(freq / len(counts) * 20) / 20, width, -rank)
        if score > best:
            best, choice = score, delimiter
    return choice
