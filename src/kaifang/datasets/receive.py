"""Receiving an upload: streamed to disk chunk by chunk, counted, refused as soon as it is too big.

The body is never held in memory. It is either the raw file (any content type but a form; the
file name travels in a query parameter) or the ``file`` part of a ``multipart/form-data`` body,
parsed incrementally with python-multipart (the parser Starlette itself uses). A declared
Content-Length over the limit is refused before the first byte is read; bytes are counted while
streaming for clients that declare none (chunked transfer).
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header

from kaifang.errors import ValidationFailed
from kaifang.i18n import _
from kaifang.ingest import Code, IngestError
from kaifang.ingest.errors import human_bytes

UPLOADS = "uploads"
PARTIAL = ".partial"
# A multipart body carries a few hundred bytes of boundaries and headers around the file.
FORM_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 64 * 1024
FILE_FIELD = "file"
_UNSAFE = re.compile(r"[^\w.\-()（）\u3400-\u9fff]+")


class UploadTooLarge(IngestError):
    status_code = 413


def too_large(size: int, limit: int) -> UploadTooLarge:
    return UploadTooLarge(
        Code.TOO_LARGE,
        _("The file is %(size)s, larger than the limit of %(limit)s.",
          size=human_bytes(size), limit=human_bytes(limit)),
        {"size": size, "limit": limit},
    )


def check_declared_length(header: str | None, limit: int, *, form: bool) -> None:
    """Refuse from the Content-Length header alone, before reading the body."""
    if not header or not header.isdigit():
        return
    declared = int(header)
    if declared > limit + (FORM_OVERHEAD if form else 0):
        raise too_large(declared, limit)


def safe_name(name: str | None) -> str:
    """The base name of an uploaded file, fit for a path: no folders, no odd characters."""
    base = re.split(r"[\\/]", name or "")[-1].strip().lstrip(".")
    cleaned = _UNSAFE.sub("_", base)[-120:]
    return cleaned or "upload"


@dataclass
class ReceivedFile:
    path: Path
    relative: str
    """Path under the data folder, as kept on the job."""
    file_name: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)


class UploadSink:
    """A new folder ``uploads/<random>/`` with the bytes written so far; renamed when complete."""

    def __init__(self, data_dir: Path, limit: int) -> None:
        self.data_dir = Path(data_dir)
        self.folder = self.data_dir / UPLOADS / uuid.uuid4().hex
        self.folder.mkdir(parents=True)
        self.limit = limit
        self.size = 0
        self._fh: BinaryIO | None = (self.folder / PARTIAL).open("wb")

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise too_large(self.size, self.limit)
        assert self._fh is not None
        self._fh.write(data)

    def finish(self, file_name: str | None, fields: dict[str, str]) -> ReceivedFile:
        assert self._fh is not None
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        self._fh = None
        name = safe_name(file_name)
        final = self.folder / name
        os.replace(self.folder / PARTIAL, final)
        return ReceivedFile(final, str(final.relative_to(self.data_dir)), name, self.size, fields)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        shutil.rmtree(self.folder, ignore_errors=True)


async def receive_upload(chunks: AsyncIterator[bytes], content_type: str, sink: UploadSink,
                         file_name: str | None = None) -> ReceivedFile:
    """Write the body to ``sink``; on any error (too large, broken form, client gone) nothing
    is left behind."""
    try:
        if content_type.lower().startswith("multipart/form-data"):
            form = _FormReceiver(content_type, sink)
            async for chunk in chunks:
                form.feed(chunk)
            name, fields = form.finish()
        else:
            async for chunk in chunks:
                sink.write(chunk)
            name, fields = file_name, {}
        if not name and not sink.size:
            raise ValidationFailed.single(FILE_FIELD, _("Choose a file to upload."))
        if not sink.size:
            raise IngestError(Code.EMPTY_FILE, _("The file is empty."))
        return sink.finish(name, fields)
    except BaseException:
        sink.abort()
        raise


class _FormReceiver:
    """python-multipart callbacks: the ``file`` part goes to the sink, short text fields to a dict."""

    def __init__(self, content_type: str, sink: UploadSink) -> None:
        _kind, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if not boundary:
            raise ValidationFailed.single(FILE_FIELD, _("The upload is not a valid form."))
        self.sink = sink
        self.fields: dict[str, str] = {}
        self.file_name: str | None = None
        self._seen_file = False
        self._header = [b"", b""]
        self._disposition = b""
        self._part: str | None = None  # field name of the current part; "" = the file
        self._text = bytearray()
        self.parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_header_field": self._header_field,
            "on_header_value": self._header_value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._end,
        })

    def feed(self, chunk: bytes) -> None:
        # Disk writes of a chunk are short: done inline, the event loop waits microseconds.
        self.parser.write(chunk)

    def finish(self) -> tuple[str | None, dict[str, str]]:
        self.parser.finalize()
        if not self._seen_file:
            raise ValidationFailed.single(FILE_FIELD, _("Choose a file to upload."))
        return self.file_name, self.fields

    def _begin(self) -> None:
        self._disposition, self._text, self._part = b"", bytearray(), None

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        if self._header[0].lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_done(self) -> None:
        _kind, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD and b"filename" in options and not self._seen_file:
            self._seen_file = True
            self.file_name = options[b"filename"].decode("utf-8", "replace")
            self._part = ""
        else:
            self._part = name

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "":
            self.sink.write(data[start:end])
        elif len(self._text) + end - start <= MAX_FIELD_BYTES:
            self._text += data[start:end]

    def _end(self) -> None:
        if self._part:
            self.fields[self._part] = self._text.decode("utf-8", "replace")


async def receive_body(headers: dict[str, str], chunks: AsyncIterator[bytes], data_dir: Path, limit: int,
                       file_name: str | None = None) -> ReceivedFile:
    """An HTTP request body (raw or a form) as a received file: checks the declared length first."""
    content_type = headers.get("content-type", "")
    check_declared_length(headers.get("content-length"), limit,
                          form=content_type.lower().startswith("multipart/form-data"))
    return await receive_upload(chunks, content_type, UploadSink(data_dir, limit), file_name)


def remove_received(received: ReceivedFile) -> None:
    """Delete a received file and its folder (refused after receiving, e.g. by sniffing)."""
    shutil.rmtree(received.path.parent, ignore_errors=True)
