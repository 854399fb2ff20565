"""Reading real file formats, and every kind of bad input giving its error code."""

from __future__ import annotations

import datetime as dt
import tracemalloc
import zipfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pytest

from kaifang.ingest import Code, IngestError, Kind, Limits, detect_table, open_table, read_table
from kaifang.ingest.excel import detect_header
from kaifang.ingest.sniff import Format, sniff_file
from tests.unit.ingest.labelled_columns import (
    mobiles,
    names,
    order_numbers,
    valid_resident_ids,
    valid_usccs,
)
from tests.unit.ingest.xls_file import xls_bytes


def _write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str,
               delimiter: str = ",") -> Path:
    lines = [delimiter.join(header)] + [delimiter.join(r) for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def _error(excinfo: pytest.ExceptionInfo[IngestError]) -> IngestError:
    return excinfo.value


def test_gbk_csv_with_identifiers(tmp_path):
    ids = ["11010519491231002X", "360426199101010071", *valid_resident_ids(38)]
    usccs = ["91110000600037341L", *valid_usccs(39)]
    header = ["身份证号", "手机号", "姓名", "统一社会信用代码", "订单号"]
    rows = [list(r) for r in zip(ids, mobiles(40), names(40), usccs, order_numbers(40),
                                 strict=True)]
    path = _write_csv(tmp_path / "名单.csv", header, rows, "gbk")

    sniffed = sniff_file(path)
    assert (sniffed.format, sniffed.encoding, sniffed.delimiter) == (Format.CSV, "gbk", ",")
    table = read_table(path)
    assert table.column_names == header
    assert table.column("身份证号").to_pylist() == ids
    assert table.column("姓名").to_pylist()[:3] == [r[2] for r in rows[:3]]
    kinds = [c.kind for c in detect_table(table).columns]
    assert kinds == [Kind.RESIDENT_ID, Kind.MOBILE, Kind.PERSON_NAME, Kind.USCC, None]


def test_gb18030_is_reported_when_gbk_cannot_decode(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("姓名,备注\n王䶮,生僻字\n李四,无\n".encode("gb18030"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")
    assert sniff_file(path).encoding == "gb18030"
    assert read_table(path).column("姓名").to_pylist() == ["王䶮", "李四"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "utf-16"])
@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_encodings_and_delimiters(tmp_path, encoding, delimiter):
    path = _write_csv(tmp_path / "t.txt", ["编号", "名称", "金额"],
                      [["001", "甲", "1.5"], ["002", "乙", "2"], ["003", "丙", ""]],
                      encoding, delimiter)
    sniffed = sniff_file(path)
    assert sniffed.delimiter == delimiter
    assert sniffed.encoding == encoding
    table = read_table(path)
    assert table.column_names == ["编号", "名称", "金额"]  # no BOM left in the first name
    assert table.column("编号").to_pylist() == ["001", "002", "003"]  # leading zeros kept
    assert table.column("金额").to_pylist() == ["1.5", "2", None]


def test_quoted_newlines_duplicate_and_empty_headers(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('名称,名称,,备注\n甲,1,x,"第一行\n第二行"\n乙,2,y,\n', encoding="utf-8")
    table = read_table(path)
    assert table.column_names == ["名称", "名称_2", "column_3", "备注"]
    assert table.column("备注").to_pylist() == ["第一行\n第二行", None]


def test_reader_reports_progress_and_facts(tmp_path):
    path = _write_csv(tmp_path / "p.csv", ["a", "b"], [[str(i), "x" * 50] for i in range(20000)],
                      "utf-8")
    with open_table(path) as reader:
        assert reader.fraction() == 0.0
        rows = sum(batch.num_rows for batch in reader)
        assert reader.fraction() == 1.0
    assert rows == reader.rows_read == 20000
    assert reader.info == {"format": "csv", "encoding": "utf-8", "delimiter": ",",
                           "header_rows": 1}


@pytest.mark.parametrize("content", [b"", b"   \r\n\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "e.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.EMPTY_FILE


def test_header_only(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("姓名,身份证号\n\n", encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.HEADER_ONLY


def test_ragged_rows_give_line_numbers(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text('a,b,c\n1,2,3\n4,"多\n行",6\n7,8\n9,10,11\n12,13,14,15\n', encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.RAGGED_ROWS
    assert exc.value.detail["lines"] == [5, 7]
    assert "5, 7" in exc.value.message


def test_ragged_rows_stop_after_the_first_few(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n" + "1,2\n" * 1000 + "1\n" * 1000, encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.detail["lines"] == [1002, 1003, 1004, 1005, 1006]


def test_undecodable_byte_after_the_sample_reports_offset_and_line(tmp_path):
    path = tmp_path / "u.csv"
    head = "名称,值\n" + "甲,1\n" * 400_000  # ~2.4 MB, longer than the sniffed sample
    data = head.encode("utf-8") + b"\xff\xfe,2\n"
    path.write_bytes(data)
    assert sniff_file(path).encoding == "utf-8"
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.UNDECODABLE
    assert exc.value.detail["offset"] == len(head.encode("utf-8"))
    assert exc.value.detail["line"] == 400_002


def test_undecodable_in_the_sample(tmp_path):
    path = tmp_path / "u.csv"
    path.write_bytes(b"a,b\n1,\x81\xff\xff\n")
    with pytest.raises(IngestError) as exc:
        sniff_file(path)
    assert exc.value.code is Code.UNDECODABLE
    assert exc.value.detail["line"] == 2


def test_too_large(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a\n" + "1\n" * 100, encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        read_table(path, limits=Limits(max_bytes=100))
    assert exc.value.code is Code.TOO_LARGE
    assert exc.value.detail == {"size": 202, "limit": 100}


@pytest.mark.parametrize("header_first", [True, False])
def test_a_50_mb_line_fails_fast_in_bounded_memory(tmp_path, header_first):
    path = tmp_path / "long.csv"
    with path.open("wb") as fh:
        if header_first:
            fh.write(b"a,b\n1,2\n")
        chunk = b"x" * (1 << 20)
        for _ in range(50):
            fh.write(chunk)
        fh.write(b",1\n")
    pool = pa.default_memory_pool()
    arrow_before = pool.bytes_allocated()
    tracemalloc.start()
    try:
        with pytest.raises(IngestError) as exc:
            read_table(path)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert exc.value.code is Code.LINE_TOO_LONG
    assert exc.value.detail["line"] == (3 if header_first else 1)
    assert exc.value.detail["offset"] <= 10 * (1 << 20)  # stopped after ~8 MiB, not 50
    assert python_peak < 32 * (1 << 20)
    assert pool.bytes_allocated() - arrow_before < 1 << 20  # nothing left behind


def _xlsx(path: Path, rows: list[list[object]], title: str = "Sheet") -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def test_xlsx_with_title_row_and_two_row_header(tmp_path):
    path = _xlsx(tmp_path / "b.xlsx", [
        ["2024年某区低保对象名单"],
        [],
        ["序号", "姓名", "地址", None, "联系电话", "发放日期", "金额"],
        [None, None, "省", "区县", None, None, None],
        [1, "张三", "北京市", "朝阳区", "13812345678", dt.datetime(2024, 1, 5), 1200.5],
        [2, "李四", "广东省", "南山区", None, dt.datetime(2024, 2, 1, 9, 30), 800],
        [None, None, None, None, None, None, None],
        [3, "王五", "浙江省", "西湖区", "13900001111", dt.date(2024, 3, 1), 0.1 + 0.2],
    ])
    with open_table(path) as reader:
        table = reader.read_all()
        info = reader.info
    assert table.column_names == ["序号", "姓名", "地址/省", "地址/区县", "联系电话", "发放日期",
                                  "金额"]
    assert info["header_row"] == 3 and info["header_rows"] == 2 and info["sheet"] == "Sheet"
    assert table.to_pylist()[0] == {
        "序号": "1", "姓名": "张三", "地址/省": "北京市", "地址/区县": "朝阳区",
        "联系电话": "13812345678", "发放日期": "2024-01-05", "金额": "1200.5"}
    assert table.column("发放日期").to_pylist() == ["2024-01-05", "2024-02-01 09:30:00",
                                                   "2024-03-01"]
    assert table.column("金额").to_pylist() == ["1200.5", "800", "0.3"]
    assert table.num_rows == 3  # the blank spacer row is skipped


def test_detect_header_rules():
    one = detect_header([["标题"], ["a", "b", "c"], [1, 2, 3]])
    assert (one.index, one.rows, one.names) == (1, 1, ["a", "b", "c"])
    numbers_in_header = detect_header([["地区", 2022, 2023], ["东城", 1, 2]])
    assert numbers_in_header.names == ["地区", "2022", "2023"]
    # A text data row under a complete header is data, not a second header row.
    text_rows = detect_header([["姓名", "地址"], ["张三", "北京"]])
    assert text_rows.rows == 1


def test_xlsx_sheet_choice(tmp_path):
    path = tmp_path / "s.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["本表说明"])
    data = book.create_sheet("数据")
    data.append(["a", "b"])
    data.append(["1", "2"])
    book.save(path)
    assert read_table(path, sheet="数据").to_pylist() == [{"a": "1", "b": "2"}]
    assert read_table(path, sheet=1).num_rows == 1
    with pytest.raises(IngestError) as exc:
        read_table(path, sheet="其他")
    assert exc.value.code is Code.SHEET_NOT_FOUND
    assert exc.value.detail["sheets"] == ["说明", "数据"]


def test_xlsx_header_only_and_ragged(tmp_path):
    with pytest.raises(IngestError) as exc:
        read_table(_xlsx(tmp_path / "h.xlsx", [["a", "b"]]))
    assert exc.value.code is Code.HEADER_ONLY
    ragged = _xlsx(tmp_path / "r.xlsx", [["a", "b"], [1, 2], [3, 4, "多余"], [5, 6]])
    with pytest.raises(IngestError) as exc:
        read_table(ragged)
    assert exc.value.code is Code.RAGGED_ROWS
    assert exc.value.detail["lines"] == [3]


def test_legacy_xls(tmp_path):
    path = tmp_path / "旧表.xls"
    path.write_bytes(xls_bytes([
        ["某区名单"], [],
        ["编号", "姓名", "身份证号", "日期", "金额", "有效"],
        [1, "张三", "11010519491231002X", dt.date(2024, 1, 5), 12.5, True],
        [2, "李四", "360426199101010071", dt.date(2023, 12, 31), 3, False],
    ], sheet_name="名单"))
    assert sniff_file(path).format is Format.XLS
    with open_table(path) as reader:
        table = reader.read_all()
        assert reader.info["sheet"] == "名单" and reader.info["header_row"] == 3
    assert table.to_pylist() == [
        {"编号": "1", "姓名": "张三", "身份证号": "11010519491231002X", "日期": "2024-01-05",
         "金额": "12.5", "有效": "true"},
        {"编号": "2", "姓名": "李四", "身份证号": "360426199101010071", "日期": "2023-12-31",
         "金额": "3", "有效": "false"}]
    with pytest.raises(IngestError) as exc:
        read_table(path, sheet="其他")
    assert exc.value.code is Code.SHEET_NOT_FOUND


def test_password_protected_xls(tmp_path):
    path = tmp_path / "locked.xls"
    path.write_bytes(xls_bytes([["a"], [1]], encrypted=True))
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.ENCRYPTED_XLSX


def test_password_protected_cfb_file(tmp_path):
    # What Excel writes for a password: an OLE compound file holding EncryptionInfo and
    # EncryptedPackage streams instead of a zip.
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    directory = "EncryptionInfo".encode("utf-16-le") + b"\0" * 100 + \
        "EncryptedPackage".encode("utf-16-le")
    for name in ("secret.xlsx", "secret.bin"):
        path = tmp_path / name
        path.write_bytes(header + b"\0" * 1024 + directory + b"\0" * 2048)
        with pytest.raises(IngestError) as exc:
            read_table(path)
        assert exc.value.code is Code.ENCRYPTED_XLSX


def test_corrupt_spreadsheets(tmp_path):
    truncated = tmp_path / "t.xlsx"
    _xlsx(truncated, [["a"], [1]])
    truncated.write_bytes(truncated.read_bytes()[:300])
    not_a_workbook = tmp_path / "w.xlsx"
    with zipfile.ZipFile(not_a_workbook, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w/>")
    for path in (truncated, not_a_workbook):
        with pytest.raises(IngestError) as exc:
            read_table(path)
        assert exc.value.code is Code.CORRUPT_XLSX, path
    legacy = tmp_path / "old.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(IngestError) as exc:
        read_table(legacy)
    assert exc.value.code is Code.CORRUPT_XLS


def _bomb(path: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 20)
            for _ in range(megabytes):
                member.write(block)
    return path


def test_zip_bomb_is_refused_from_the_central_directory(tmp_path, monkeypatch):
    path = _bomb(tmp_path / "bomb.xlsx", 64)
    assert path.stat().st_size < 1 << 20

    def never(*args, **kwargs):
        raise AssertionError("the workbook must not be opened")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    with pytest.raises(IngestError) as exc:
        read_table(path)
    assert exc.value.code is Code.ZIP_BOMB
    assert exc.value.detail["member"] == "xl/worksheets/sheet1.xml"
    assert exc.value.detail["ratio"] > 200
    small = _bomb(tmp_path / "small.xlsx", 3)
    with pytest.raises(IngestError) as exc:
        read_table(small, limits=Limits(max_uncompressed_bytes=2 << 20))
    assert exc.value.code is Code.ZIP_BOMB


def test_unsupported_formats(tmp_path):
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100)
    docx = tmp_path / "a.docx"
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    for path in (png, docx):
        with pytest.raises(IngestError) as exc:
            read_table(path)
        assert exc.value.code in (Code.UNSUPPORTED_FORMAT, Code.UNDECODABLE), path
