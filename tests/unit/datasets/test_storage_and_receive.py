"""Version storage (atomic puts, sweepable temporary keys) and streamed uploads (counted, refused early)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from kaifang.datasets.receive import (
    UploadSink,
    check_declared_length,
    receive_body,
    receive_upload,
    safe_name,
)
from kaifang.datasets.storage import LocalStorage, S3Storage, is_temporary, storage_for, version_key
from kaifang.errors import ValidationFailed
from kaifang.ingest import Code, IngestError


def test_local_put_moves_the_file_into_place(tmp_path):
    storage = LocalStorage(tmp_path / "versions")
    local = tmp_path / "work" / "data.parquet"
    local.parent.mkdir()
    local.write_bytes(b"PAR1 data")
    key = version_key("e1", 3)
    storage.put(local, key)
    assert key == "e1/3.parquet" and storage.exists(key) and local.exists()  # the caller removes it
    with storage.open(key) as fh:
        assert fh.read() == b"PAR1 data"
    [stored] = storage.files()
    assert stored.key == key and stored.size == 9
    assert stored.modified and stored.modified > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    storage.delete(key)
    assert storage.files() == []


def test_a_failed_put_leaves_nothing(tmp_path, monkeypatch):
    storage = LocalStorage(tmp_path / "versions")
    local = tmp_path / "data.parquet"
    local.write_bytes(b"x")

    class FullDisk:
        def __init__(self, fs):
            self.fs = fs

        def __getattr__(self, name):
            return getattr(self.fs, name)

        def move(self, src, dst):
            raise OSError("disk full")

    monkeypatch.setattr(storage, "fs", FullDisk(storage.fs))
    with pytest.raises(OSError):
        storage.put(local, version_key("e1", 1))
    assert storage.files() == []


def test_keys_are_checked_and_temporary_ones_recognised(tmp_path):
    storage = LocalStorage(tmp_path)
    for bad in ("../x.parquet", "/etc/passwd", "a/../../b"):
        with pytest.raises(ValueError):
            storage.exists(bad)
    assert is_temporary("e1/.tmp-abc") and not is_temporary("e1/3.parquet")


def test_storage_follows_the_setting(settings):
    assert isinstance(storage_for(settings), LocalStorage)
    s3 = storage_for(settings.with_overrides(
        storage_url="s3://bucket/kaifang?region=cn-north-1&endpoint_override=127.0.0.1:9&scheme=http"))
    assert isinstance(s3, S3Storage) and s3.root == "bucket/kaifang"


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


def _receive(tmp_path, parts, content_type="application/octet-stream", limit=1000, name="a.csv"):
    return asyncio.run(receive_upload(_chunks(*parts), content_type, UploadSink(tmp_path, limit), name))


def test_raw_body_is_streamed_to_its_own_folder(tmp_path):
    received = _receive(tmp_path, [b"a,b\n", b"1,2\n"], name="../../etc/登记 表.csv")
    assert received.file_name == "登记_表.csv" and received.size == 8
    assert received.path.read_bytes() == b"a,b\n1,2\n"
    assert received.relative.startswith("uploads/") and received.path.parent.parent == tmp_path / "uploads"


def _multipart(content: bytes, boundary: str = "XyZ") -> bytes:
    return (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"名单.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + content + f"\r\n--{boundary}--\r\n".encode()


def test_a_form_is_parsed_incrementally_in_tiny_pieces(tmp_path):
    body = _multipart("姓名,电话\n张三,1\n".encode() * 20)
    pieces = [body[i:i + 7] for i in range(0, len(body), 7)]
    received = _receive(tmp_path, pieces, "multipart/form-data; boundary=XyZ")
    assert received.file_name == "名单.csv" and received.fields == {"csrf_token": "tok"}
    assert received.path.read_bytes() == "姓名,电话\n张三,1\n".encode() * 20


def test_too_large_while_streaming_leaves_no_file(tmp_path):
    with pytest.raises(IngestError) as exc:
        _receive(tmp_path, [b"x" * 600, b"x" * 600], limit=1000)
    assert exc.value.code is Code.TOO_LARGE and exc.value.status_code == 413
    assert list((tmp_path / "uploads").iterdir()) == []


def test_declared_length_is_refused_before_reading(tmp_path):
    def never():
        raise AssertionError("the body must not be read")
        yield b""  # pragma: no cover

    with pytest.raises(IngestError) as exc:
        asyncio.run(receive_body({"content-length": "5000", "content-type": "text/csv"}, never(), tmp_path, 1000))
    assert exc.value.detail == {"size": 5000, "limit": 1000}
    assert not (tmp_path / "uploads").exists()
    check_declared_length("1010", 1000, form=True)  # a form's envelope is allowed for


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(IngestError) as exc:
        _receive(tmp_path, [])
    assert exc.value.code is Code.EMPTY_FILE
    no_file = b"--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--XyZ--\r\n"
    with pytest.raises(ValidationFailed):
        _receive(tmp_path, [no_file], "multipart/form-data; boundary=XyZ")
    unchosen = _multipart(b"").replace("名单.csv".encode(), b"")
    with pytest.raises(ValidationFailed):
        _receive(tmp_path, [unchosen], "multipart/form-data; boundary=XyZ")
    assert list((tmp_path / "uploads").iterdir()) == []


def test_safe_names():
    assert safe_name("C:\\Users\\x\\报表 2024.xlsx") == "报表_2024.xlsx"
    assert safe_name("..") == "upload" and safe_name(None) == "upload"
    assert safe_name(".hidden.csv") == "hidden.csv"
