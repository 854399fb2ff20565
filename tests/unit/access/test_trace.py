"""Leak tracing through the real ``kaifang trace`` command: a byte-identical copy names its
download; a 10 % subset of one grant's file, shuffled, with a column dropped and a header renamed,
names that grant and no other among twenty; a file of nobody's pseudonyms names nothing."""

from __future__ import annotations

import csv
import io
import json
import random
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kaifang.access.engine import QueryEngine
from kaifang.access.trace import log10_chance, match_file, pseudonym_values, trace_file
from kaifang.auth.queries import principal_for
from kaifang.cli import app
from kaifang.datasets.storage import storage_for
from tests.unit.access.grant_helpers import download, grant_for, grantee, publish_residents
from tests.unit.access.helpers import make_data_world

GRANTS = 20
LEAKER = 7


@pytest.fixture
def query_engine(settings) -> Iterator[QueryEngine]:
    engine = QueryEngine(settings, storage_for(settings))
    yield engine
    engine.close()


@pytest.fixture
def cli_env(settings, monkeypatch) -> None:
    for key, value in {"DATABASE_URL": settings.database_url, "DATA_DIR": str(settings.data_dir),
                       "SECRET_KEY": settings.secret_key, "ENVIRONMENT": "test"}.items():
        monkeypatch.setenv(f"KAIFANG_{key}", value)


def _downloads(session, settings, query_engine, grants: int) -> list:
    """Grantees of one dataset, each with their own CSV download."""
    world = make_data_world(session, settings)
    entry = publish_residents(session, settings, world)
    files = []
    for i in range(grants):
        who = grantee(session, settings, f"user{i:02d}")
        grant = grant_for(session, world, entry, who, columns=["姓名", "手机号", "身份证号", "所在区"])
        body, log_id = download(session, settings, query_engine, who, entry.name)
        files.append((grant, body, log_id))
    return files


def _trace(*args: str):
    return CliRunner().invoke(app, ["trace", *args])


def _leak(body: bytes, tmp_path: Path, seed: int = 1) -> Path:
    """A tenth of the rows, shuffled, without the district column, the mobile header renamed,
    written in GBK as a spreadsheet user would."""
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    header, data = rows[0], rows[1:]
    rng = random.Random(seed)
    kept = rng.sample(data, len(data) // 10)
    rng.shuffle(kept)
    drop = header.index("所在区")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["联系电话" if h == "手机号" else h for i, h in enumerate(header) if i != drop])
    writer.writerows([v for i, v in enumerate(row) if i != drop] for row in kept)
    path = tmp_path / "外泄.csv"
    path.write_bytes(out.getvalue().encode("gbk"))
    return path


def test_kaifang_trace_names_the_download_or_the_one_grant_a_leak_came_from(session, settings, query_engine,
                                                                           tmp_path, cli_env):
    downloads = _downloads(session, settings, query_engine, GRANTS)

    # A byte-identical copy: the access log row, at once.
    grant, body, log_id = downloads[3]
    copy = tmp_path / "copy.csv"
    copy.write_bytes(body)
    result = _trace(str(copy), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [e["access_log"] for e in report["exact"]] == [log_id]
    assert report["exact"][0]["grant"]["id"] == grant.id and report["exact"][0]["confidence"] == 1.0

    # A tenth of one grantee's rows, reordered, a column dropped: that grant and no other.
    grant, body, _log_id = downloads[LEAKER]
    leak = _leak(body, tmp_path)
    result = _trace(str(leak), "--entry", "residents")
    assert result.exit_code == 0, result.output
    named = [line for line in result.output.splitlines() if line.startswith("NAMED")]
    assert len(named) == 1 and grant.id in named[0] and "user07" in named[0]
    assert "EXACT" not in result.output
    report = json.loads(_trace(str(leak), "--entry", "residents", "--json").output)
    assert report["grants_considered"] == GRANTS and len(report["matches"]) == GRANTS
    best, *rest = report["matches"]
    assert best["grant"]["id"] == grant.id and best["named"]
    assert best["share"] == 1.0 and best["confidence"] > 0.999_999
    assert best["sampled"] == 2 * ((len(body.decode().splitlines()) - 1) // 10)  # two pseudonym columns
    assert all(m["matched"] == 0 and not m["named"] and m["confidence"] == 0 for m in rest)

    # Without --entry every conditional dataset's grants are searched.
    grant, body, _log_id = downloads[0]
    result = _trace(str(_leak(body, tmp_path, seed=5)), "--json")
    assert result.exit_code == 0, result.output
    assert [m["grant"]["id"] for m in json.loads(result.output)["matches"] if m["named"]] == [grant.id]

    # Pseudonyms of nobody, or no pseudonyms at all: nothing is named, exit code 1.
    fake = tmp_path / "fake.csv"
    fake.write_text("姓名,手机号\n" + "".join(f"某{i},{secrets.token_hex(8)}\n" for i in range(50)), encoding="utf-8")
    result = _trace(str(fake), "--entry", "residents")
    assert result.exit_code == 1
    assert "NOT TRACED: no grant's pseudonyms match" in result.output
    plain = tmp_path / "plain.csv"
    plain.write_text("姓名,所在区\n张三,海州区\n", encoding="utf-8")
    result = _trace(str(plain))
    assert result.exit_code == 1 and "no column of per-grant pseudonyms" in result.output
    assert _trace(str(plain), "--entry", "nope").exit_code == 1


def test_spreadsheets_json_and_parquet_are_read_too(session, settings, query_engine, tmp_path):
    grant, _body, _log_id = _downloads(session, settings, query_engine, 3)[1]
    owner = principal_for(session, grant.user)
    for fmt in ("json", "xlsx", "parquet"):
        body, log_id = download(session, settings, query_engine, owner, "residents", fmt)
        path = tmp_path / f"leak.{fmt}"
        path.write_bytes(body)
        assert [e.log.id for e in trace_file(session, settings, query_engine, path).exact] == [log_id]
        if fmt == "json":  # a subset of the records
            path.write_text(json.dumps(json.loads(body)[::9], ensure_ascii=False), encoding="utf-8")
        assert set(pseudonym_values(path)) == {"手机号", "身份证号"}
        report = match_file(session, settings, query_engine, path, "residents")
        assert [m.grant.id for m in report.named] == [grant.id], fmt


def test_the_chance_bound():
    assert log10_chance(0, 100, 10_000) == 0.0
    # One match among 100 values against 10,000 pseudonyms: about 100 × 10⁴ / 2⁶⁴.
    assert -14.0 < log10_chance(1, 100, 10_000) < -12.0
    assert log10_chance(80, 80, 800) < -1000

