"""A byte stream that turns any supported text encoding into checked UTF-8, chunk by chunk.

Arrow's CSV reader and the JSON readers only see UTF-8. Decoding here, in bounded chunks, gives
the pipeline three things a plain file object cannot: the byte offset and line of the first
undecodable byte, a fast failure on an over-long line (a 50 MB line fails after the first few MB,
not after buffering all of it), and a count of source bytes read for progress reports.
"""

from __future__ import annotations

import codecs
import io
from typing import BinaryIO

from kaifang.i18n import _
from kaifang.ingest.errors import Code, IngestError, human_bytes
from kaifang.ingest.sniff import undecodable_error

MAX_CHUNK = 1 << 20
# Files sniffed as GBK are decoded with GB18030, its superset, so that a rare character later in
# the file (outside the sniffed sample) does not fail the whole upload.
_CODECS = {"gbk": "gb18030"}


class Utf8Stream(io.RawIOBase):
    """Read-only raw stream of UTF-8 bytes over ``fh`` (which it owns and closes)."""

    def __init__(
        self,
        fh: BinaryIO,
        encoding: str,
        *,
        max_line_bytes: int | None = None,
        total_bytes: int | None = None,
    ) -> None:
        super().__init__()
        self._fh = fh
        self.encoding = encoding
        codec = _CODECS.get(encoding, encoding)
        self._decoder = codecs.getincrementaldecoder(codec)()
        self._passthrough = codec in ("utf-8", "utf-8-sig")
        self._skip_bom = codec == "utf-8-sig"
        self.max_line_bytes = max_line_bytes
        limit = max_line_bytes // 2 if max_line_bytes else MAX_CHUNK
        self._chunk = max(1024, min(MAX_CHUNK, limit))
        self.total_bytes = total_bytes
        self.bytes_read = 0
        self.lines = 0
        self._run = 0  # bytes since the last newline
        self._buf = b""
        self._pos = 0
        self._eof = False

    def readable(self) -> bool:
        return True

    def fraction(self) -> float:
        if not self.total_bytes:
            return 0.0
        return min(1.0, self.bytes_read / self.total_bytes)

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()

    def read(self, size: int | None = -1) -> bytes:
        wanted = size if size is not None and size >= 0 else 1 << 62
        parts: list[bytes] = []
        got = 0
        while got < wanted:
            if self._pos >= len(self._buf) and not self._fill():
                break
            piece = self._buf[self._pos : self._pos + (wanted - got)]
            self._pos += len(piece)
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readall(self) -> bytes:
        return self.read(-1)

    def _fill(self) -> bool:
        """Decode the next chunk into the buffer; False at the end of the file."""
        if self._eof:
            return False
        raw = self._fh.read(self._chunk)
        start = self.bytes_read
        self.bytes_read += len(raw)
        final = not raw
        try:
            text = self._decoder.decode(raw, final)
        except UnicodeDecodeError as exc:
            pending = len(exc.object) - len(raw)
            offset = start - pending + exc.start
            line = self.lines + 1 + bytes(exc.object[: exc.start]).count(b"\n")
            raise undecodable_error(self.encoding, offset, line) from None
        if final:
            self._eof = True
            self._buf, self._pos = b"", 0
            return False
        out = self._passthrough_bytes(raw) if self._passthrough else text.encode("utf-8")
        self._check_lines(out)
        self._buf, self._pos = out, 0
        return True

    def _passthrough_bytes(self, raw: bytes) -> bytes:
        if self._skip_bom:
            self._skip_bom = False
            return raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
        return raw

    def _check_lines(self, out: bytes) -> None:
        first = out.find(b"\n")
        limit = self.max_line_bytes
        if limit and (self._run + (first if first >= 0 else len(out))) > limit:
            raise IngestError(
                Code.LINE_TOO_LONG,
                _("Line %(line)s is longer than the limit of %(limit)s.",
                  line=self.lines + 1, limit=human_bytes(limit)),
                {"line": self.lines + 1, "limit": limit, "offset": self.bytes_read},
            )
        if first < 0:
            self._run += len(out)
            return
        self.lines += out.count(b"\n")
        self._run = len(out) - out.rindex(b"\n") - 1


def open_utf8(
    path: str, encoding: str, *, max_line_bytes: int | None, total_bytes: int | None = None
) -> Utf8Stream:
    return Utf8Stream(
        open(path, "rb"),  # the stream owns and closes the handle
        encoding,
        max_line_bytes=max_line_bytes,
        total_bytes=total_bytes,
    )
