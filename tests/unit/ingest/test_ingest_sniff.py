"""Format sniffing from a bounded sample, and the SQL identifier checks."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kaifang import identifiers
from kaifang.ingest import Code, IngestError, Limits
from kaifang.ingest import sqlchecks as q
from kaifang.ingest.engine import connect
from kaifang.ingest.sniff import Format, detect_delimiter, sniff_bytes, sniff_file


@pytest.mark.parametrize("head, name, expected", [
    (b"PK\x03\x04....[Content_Types].xml", "x.bin", Format.XLSX),
    (b"PK\x03\x04....", "x.xlsx", Format.XLSX),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "x.xls", Format.XLS),
    (b'[{"a": 1}]', "x.json", Format.JSON),
    (b'  {"type": "FeatureCollection", "features": []}', "x.json", Format.GEOJSON),
    (b'{"a": 1}\n{"a": 2}\n', "x.txt", Format.JSONL),
    (b'{"a": 1}\n', "x.ndjson", Format.JSONL),
    (b"a\tb\n1\t2\n", "x.txt", Format.TSV),
    (b"a,b\n1,2\n", "x.csv", Format.CSV),
])
def test_formats(head, name, expected):
    assert sniff_bytes(head, name).format is expected


def test_delimiter_prefers_consistent_field_counts():
    text = "名称;金额\n甲,乙;1\n丙;2\n"
    assert detect_delimiter(text) == ";"
    assert detect_delimiter("只有一列\n值\n") == ","
    assert detect_delimiter('a|b|c\n"x|y"|2|3\n') == "|"


def test_sniffing_reads_only_a_bounded_sample(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    with path.open("wb") as fh:
        fh.write("姓名,备注\n".encode("gbk"))
        fh.write("张三,无\n".encode("gbk") * 2_000_000)  # ~16 MB
    reads: list[int] = []
    real_open = type(path).open

    def counting_open(self, *args, **kwargs):
        fh = real_open(self, *args, **kwargs)
        real_read = fh.read

        def read(n=-1):
            reads.append(n)
            return real_read(n)

        fh.read = read
        return fh

    monkeypatch.setattr(type(path), "open", counting_open)
    sniffed = sniff_file(path, limits=Limits(sniff_bytes=64 * 1024))
    assert (sniffed.encoding, sniffed.delimiter) == ("gbk", ",")
    assert all(0 < n <= 64 * 1024 for n in reads)


def test_cfb_named_xlsx_is_encrypted():
    with pytest.raises(IngestError) as exc:
        sniff_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "报表.xlsx")
    assert exc.value.code is Code.ENCRYPTED_XLSX


_digits = st.text(alphabet="0123456789", min_size=17, max_size=17)


@settings(max_examples=15, deadline=None)
@given(bodies=st.lists(_digits, min_size=1, max_size=300), checks=st.data())
def test_sql_resident_id_check_equals_python(bodies, checks):
    values = []
    for body in bodies:
        right = identifiers.resident_id_check_char(body)
        values.append(body + checks.draw(st.sampled_from([right, *"0123456789X"])))
    con = connect(threads=1)
    try:
        con.register("t", pa.table({"v": values}))
        got = [row[0] for row in con.sql(f"SELECT {q.resident_id('v')} FROM t").fetchall()]
    finally:
        con.close()
    assert got == [identifiers.check_resident_id(v).ok for v in values]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.text(alphabet=identifiers.USCC_ALPHABET, min_size=17, max_size=17),
                min_size=1, max_size=200))
def test_sql_uscc_and_org_code_checks_equal_python(bodies):
    values = []
    for raw in bodies:
        body = "9" + raw[1] + "110000" + raw[8:]
        values += [body + identifiers.uscc_check_char(body), body + "0"]
        values += [body[8:16] + "-" + identifiers.org_code_check_char(body[8:16]), body[8:17]]
    con = connect(threads=1)
    try:
        con.register("t", pa.table({"v": values}))
        rows = con.sql(f"SELECT {q.uscc('v')}, {q.org_code('v')} FROM t").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [identifiers.check_uscc(v).ok for v in values]
    assert [r[1] for r in rows] == [identifiers.check_org_code(v).ok for v in values]
