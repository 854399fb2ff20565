"""Scheduled pulls: from a web address (a local server here) and from a database (a local SQLite
file), on the entry's update frequency, with the plan of the latest version."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import sqlite3
import threading

import pytest
from sqlalchemy import select

from kaifang.datasets.actions import do_publish_version, do_save_pull_source
from kaifang.datasets.models import DatasetVersion, IngestJob, PullSource
from kaifang.datasets.pull import PullInput, check_query, due_sources, interval
from kaifang.db import utcnow
from kaifang.errors import ValidationFailed
from kaifang.ingest import Kind, Plan, mask
from kaifang.jobs import jobs_for
from tests.unit.datasets.helpers import HEADER, apply, drain, make_world, rows, stage, write_csv

PLAN = Plan({"身份证号": mask(Kind.RESIDENT_ID), "手机号": mask(Kind.MOBILE), "姓名": mask(Kind.PERSON_NAME)})


@pytest.fixture
def world(session, settings, tmp_path):
    built = make_world(session, settings)
    checked = stage(session, settings, built, write_csv(tmp_path / "first.csv", 50))
    version = apply(session, settings, built, checked, PLAN).version
    do_publish_version(session, built.staff, version)
    session.commit()
    return built


@pytest.fixture
def web_root(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _pull(session, settings, world, data: PullInput) -> IngestJob:
    do_save_pull_source(session, world.staff, world.entry, data)
    session.commit()
    assert jobs_for(settings).ingest.pulls_due.call_local() == 1  # never pulled: due now
    assert len(drain(settings)) == 1
    session.expire_all()
    return session.scalars(select(IngestJob).where(IngestJob.kind == "pull")).one()


def test_a_file_at_an_address_is_pulled_and_published(session, settings, world, web_root):
    root, base = web_root
    write_csv(root / "export.csv", 80, encoding="utf-8")
    job = _pull(session, settings, world, PullInput("url", f"{base}/export.csv", auto_publish=True))
    version = job.version
    assert job.status == "succeeded"
    assert (version.number, version.rows, version.status) == (2, 80, "published")
    assert version.applied_plan == PLAN.as_dict()
    assert session.get(DatasetVersion, job.version_id).source["encoding"] == "utf-8"
    source = session.scalars(select(PullSource)).one()
    assert source.last_job_id == job.id and source.last_run_at is not None
    assert due_sources(session, utcnow()) == []  # monthly: next month
    assert due_sources(session, utcnow() + dt.timedelta(days=32)) == [source]


def test_new_personal_data_is_not_published_without_a_person(session, settings, world, web_root):
    root, base = web_root
    text = ",".join([*HEADER, "联系电话"]) + "\n" + "".join(",".join([*r, r[1]]) + "\n" for r in rows(80))
    (root / "more.csv").write_text(text, encoding="utf-8")
    job = _pull(session, settings, world, PullInput("url", f"{base}/more.csv", auto_publish=True))
    assert job.version.status == "draft" and job.result["unprotected"] == ["联系电话"]


def test_a_database_query_is_pulled(session, settings, world, tmp_path):
    path = tmp_path / "agency.db"
    con = sqlite3.connect(path)
    con.execute(f"CREATE TABLE reg ({', '.join(f'{h} TEXT' for h in HEADER)}, 人数 INTEGER)")
    con.executemany(f"INSERT INTO reg VALUES ({', '.join('?' * (len(HEADER) + 1))})",
                    [[*r, i] for i, r in enumerate(rows(120))])
    con.commit()
    con.close()
    job = _pull(session, settings, world, PullInput("database", f"sqlite:///{path}",
                                                    query="SELECT * FROM reg WHERE 人数 >= 20"))
    assert job.status == "succeeded" and job.version.rows == 100
    assert job.version.source == {"format": "database", "dialect": "sqlite"}


def test_an_unreachable_source_fails_and_may_be_retried(session, settings, world):
    job = _pull(session, settings, world, PullInput("url", "http://127.0.0.1:9/none.csv"))
    assert (job.status, job.error_code, job.retryable) == ("failed", "pull_failed", True)


def test_pull_input_is_checked(session, settings, world):
    for data, field in [(PullInput("url", "ftp://x/y.csv"), "url"), (PullInput("url", "file:///etc/passwd"), "url"),
                        (PullInput("database", "not a url", query="SELECT 1"), "url"),
                        (PullInput("database", "sqlite:///x.db", query="DELETE FROM t"), "query"),
                        (PullInput("smtp", "x"), "kind")]:
        with pytest.raises(ValidationFailed) as exc:
            do_save_pull_source(session, world.staff, world.entry, data)
        assert field in exc.value.fields
    masked = PullInput("database", "postgresql+psycopg://agency:s3cret@db.example/x", query="SELECT 1")
    assert "s3cret" not in masked.shown_address()


@pytest.mark.parametrize("sql", ["SELECT 1", "WITH a AS (SELECT 1 AS x) SELECT x FROM a",
                                 "SELECT a FROM t UNION SELECT b FROM u"])
def test_read_only_queries_pass(sql):
    check_query(sql)


@pytest.mark.parametrize("sql", ["DELETE FROM t", "SELECT 1; DROP TABLE t", "INSERT INTO t VALUES (1)",
                                 "UPDATE t SET a = 1", "CREATE TABLE x AS SELECT 1",
                                 "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "VACUUM"])
def test_writing_queries_are_refused(sql):
    with pytest.raises(ValueError):
        check_query(sql)


def test_intervals_follow_the_update_frequency():
    assert interval("monthly") == dt.timedelta(days=31)
    assert interval("real_time") == dt.timedelta(hours=1)
    assert interval("irregular") is None
