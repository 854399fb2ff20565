"""Exports neutralise spreadsheet formulas; ``kaifang ingest`` writes a version from a file on disk."""

from __future__ import annotations

import csv
import io
import json

import openpyxl
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from kaifang.cli import app
from kaifang.datasets.command import ingest_cli
from kaifang.datasets.export import export_batches, export_csv_rows, export_xlsx, write_csv
from kaifang.datasets.queries import current_version
from tests.unit.datasets.helpers import make_world
from tests.unit.datasets.helpers import write_csv as write_sample

RISKY = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=x", "\r=x"]
SAFE = ["-12.5", "+86", "1e5", "张三", "a=b", None, 42]


def test_csv_rows_are_neutralised():
    out = io.StringIO()
    write_csv(out, ["名称", "=公式"], [RISKY, SAFE])
    lines = list(csv.reader(io.StringIO(out.getvalue())))
    assert lines[0] == ["名称", "'=公式"]
    assert lines[1] == ["'" + v for v in RISKY]
    assert lines[2] == ["-12.5", "+86", "1e5", "张三", "a=b", "", "42"]
    assert next(export_csv_rows([[None, 3]])) == [None, 3]


def test_batches_are_neutralised_with_arrow():
    batch = pa.record_batch({"v": [*RISKY[:4], "-12.5"], "n": [1, 2, 3, 4, 5]})
    [out] = list(export_batches([batch]))
    assert out.column("v").to_pylist() == ["'=1+1", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "-12.5"]
    assert out.column("n").to_pylist() == [1, 2, 3, 4, 5]


def test_xlsx_cells_are_text_not_formulas(tmp_path):
    path = tmp_path / "export.xlsx"
    export_xlsx(path, ["a", "b"], iter([["=HYPERLINK(\"http://x\")", 5], ["-12.5", "@x"]]))
    sheet = openpyxl.load_workbook(path).active
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells == [["a", "b"], ["'=HYPERLINK(\"http://x\")", 5], ["-12.5", "'@x"]]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)


@pytest.fixture
def world(session, settings):
    return make_world(session, settings)


def test_ingest_command(session, settings, world, tmp_path):
    path = write_sample(tmp_path / "登记.csv", 60)
    first = ingest_cli(settings, path, "registrations")
    assert first.status == "needs_plan" and first.report["rows"] == 60
    assert first.report["suggested_plan"]["columns"]["身份证号"]["action"] == "mask"

    seen = []
    done = ingest_cli(settings, path, "registrations", plan="suggested", publish=True,
                      progress=lambda rows, pct: seen.append(rows))
    assert (done.status, done.version, done.error) == ("succeeded", 1, None)
    assert seen and seen[-1] == 60
    assert current_version(session, world.entry.id).number == 1

    again = ingest_cli(settings, path, "registrations")  # the current plan
    assert again.version == 2
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"columns": {"没有": {"action": "drop"}}}), encoding="utf-8")
    bad = ingest_cli(settings, path, "registrations", plan=str(plan))
    assert bad.status == "failed" and bad.error["code"] == "invalid_plan"


def test_ingest_command_line(session, settings, world, tmp_path, monkeypatch):
    for key, value in {"DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir),
                       "SECRET_KEY": settings.secret_key, "ENVIRONMENT": "test"}.items():
        monkeypatch.setenv(f"KAIFANG_{key}", value)
    path = write_sample(tmp_path / "登记.csv", 30)
    result = CliRunner().invoke(app, ["ingest", str(path), "--entry", "registrations", "--plan", "suggested"])
    assert result.exit_code == 0, result.output
    assert "version 1 written" in result.output
    result = CliRunner().invoke(app, ["ingest", str(path), "--entry", "nope"])
    assert result.exit_code != 0
