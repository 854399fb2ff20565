"""Where version files live: a local folder by default, S3-compatible object storage in production.

Keys are ``{entry id}/{version number}.parquet``. A file is put under a temporary key beside its
final one and then moved into place: a rename on a local disk; on S3 a server-side copy, and an
S3 object only becomes visible once complete. Readers never see half a file, and a temporary key
left by a killed worker is recognisable (``is_temporary``) and swept.

Both classes go through ``pyarrow.fs``, so the code path is the same; only ``LocalStorage`` can
be tested without an object store. ``S3Storage`` takes the ``storage_url`` setting,
``s3://bucket/prefix?endpoint_override=host:9000&region=cn-north-1&scheme=http`` (any option of
``pyarrow.fs.S3FileSystem`` may be given there); credentials come from the usual
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` environment variables, never from the URL.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from kaifang.config import Settings

TEMP_MARK = ".tmp-"


def version_key(entry_id: str, number: int) -> str:
    return f"{entry_id}/{number}.parquet"


def is_temporary(key: str) -> bool:
    return TEMP_MARK in key.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class StoredFile:
    key: str
    size: int
    modified: dt.datetime | None


class Storage:
    """Keys under ``root`` of a ``pyarrow.fs`` file system."""

    def __init__(self, fs: pafs.FileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")

    def _path(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad storage key: {key!r}")
        return f"{self.root}/{key}"

    def put(self, local: Path, key: str) -> None:
        """Store the finished local file ``local`` under ``key``, all or nothing (``local`` stays)."""
        final = self._path(key)
        temp = f"{final.rsplit('/', 1)[0]}/{TEMP_MARK}{uuid.uuid4().hex}"
        self.fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        try:
            self._upload(local, temp)
            self.fs.move(temp, final)
        except BaseException:
            self._delete_path(temp)
            raise

    def _upload(self, local: Path, temp: str) -> None:
        pafs.copy_files(str(local), temp, source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=self.fs)

    def fetch(self, key: str, local: Path) -> Path:
        """Copy ``key`` to the local file ``local`` (to work on a stored version)."""
        pafs.copy_files(self._path(key), str(local), source_filesystem=self.fs,
                        destination_filesystem=pafs.LocalFileSystem())
        return local

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk holding ``key``, if the storage is a local folder."""
        return None

    def open(self, key: str) -> pa.NativeFile:
        """A random-access file (``pyarrow.parquet.ParquetFile`` reads it)."""
        return self.fs.open_input_file(self._path(key))

    def exists(self, key: str) -> bool:
        return bool(self.fs.get_file_info(self._path(key)).type == pafs.FileType.File)

    def delete(self, key: str) -> None:
        self._delete_path(self._path(key))

    def _delete_path(self, path: str) -> None:
        if self.fs.get_file_info(path).type == pafs.FileType.File:
            self.fs.delete_file(path)

    def files(self) -> list[StoredFile]:
        """Every file under the root (for sweeping what no version refers to)."""
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        found = []
        for info in self.fs.get_file_info(selector):
            if info.type == pafs.FileType.File:
                modified = info.mtime.astimezone(dt.UTC) if info.mtime else None
                found.append(StoredFile(info.path[len(self.root) + 1:], info.size or 0, modified))
        return found


class LocalStorage(Storage):
    """A folder (``settings.data_dir / "versions"``); puts are links and renames, flushed to disk."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(pafs.LocalFileSystem(), str(root.resolve()))

    def _upload(self, local: Path, temp: str) -> None:
        # The job's work folder is on the same disk in the usual set-up: a second name for the
        # same file, not a copy.
        try:
            os.link(local, temp)
        except OSError:
            super()._upload(local, temp)
        _fsync(Path(temp))

    def put(self, local: Path, key: str) -> None:
        super().put(local, key)
        _fsync(Path(self._path(key)).parent)

    def local_path(self, key: str) -> Path | None:
        return Path(self._path(key))


class S3Storage(Storage):
    """An S3-compatible bucket; ``url`` is ``s3://bucket/prefix?option=value…``."""

    def __init__(self, url: str) -> None:
        fs, root = pafs.FileSystem.from_uri(url)
        super().__init__(fs, root)


def storage_for(settings: Settings) -> Storage:
    if settings.storage_url:
        return S3Storage(settings.storage_url)
    return LocalStorage(Path(settings.data_dir) / "versions")


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
