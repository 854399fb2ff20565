"""Resource limits for untrusted uploads; every reader checks them before doing expensive work."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 4 * GiB
    """Largest accepted file on disk (``too_large``)."""
    max_line_bytes: int = 8 * MiB
    """Longest physical line of a text file, or longest JSON record (``line_too_long``)."""
    max_uncompressed_bytes: int = 2 * GiB
    """Largest total unpacked size of an XLSX archive (``zip_bomb``)."""
    max_compression_ratio: float = 200.0
    """Largest unpacked/packed ratio of one XLSX member bigger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 16 * MiB
    max_columns: int = 2000
    sniff_bytes: int = 1 * MiB
    """How much of a file sniffing may read: never the whole of a big file."""
