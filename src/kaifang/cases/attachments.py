"""Attachment files: streamed to disk in chunks with a size limit, stored by content hash under
``settings.data_dir / "attachments"``."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from kaifang.config import Settings
from kaifang.errors import NotFound, ValidationFailed
from kaifang.i18n import _

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
MAX_NAME_LENGTH = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]")


@dataclass(frozen=True)
class StoredFile:
    path: str  # relative to the attachment root
    size: int
    sha256: str


def attachment_root(settings: Settings) -> Path:
    return Path(settings.data_dir) / "attachments"


def clean_file_name(name: str) -> str:
    """The last path component without control or reserved characters, never empty."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _UNSAFE_NAME.sub("_", base).strip(" .")
    if len(base) > MAX_NAME_LENGTH:
        _stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        base = base[: MAX_NAME_LENGTH - len(keep) - 1] + ("." + keep if keep else "")
    return base or "attachment"


def _too_large(limit: int) -> ValidationFailed:
    return ValidationFailed.single("file", _("The file is larger than the limit of %(mb)s MB.",
                                             mb=round(limit / 1024 / 1024, 1)))


def store_stream(settings: Settings, stream: BinaryIO, max_bytes: int = MAX_ATTACHMENT_BYTES) -> StoredFile:
    """Copies ``stream`` into the store without holding it in memory; refuses empty and oversized
    files before anything is kept. Identical files share one stored copy."""
    root = attachment_root(settings)
    staging = root / "tmp"
    staging.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=staging)
    tmp = Path(tmp_name)
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(max_bytes)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise ValidationFailed.single("file", _("The file is empty."))
        sha = digest.hexdigest()
        relative = f"{sha[:2]}/{sha}"
        final = root / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
        return StoredFile(relative, size, sha)
    finally:
        tmp.unlink(missing_ok=True)


def stored_file(settings: Settings, relative: str) -> Path:
    """The absolute path of a stored file; never outside the attachment root."""
    root = attachment_root(settings).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise NotFound(_("The file of this attachment is missing."))
    return path
