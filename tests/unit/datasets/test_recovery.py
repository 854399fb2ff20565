"""A worker killed mid-ingest: the previous version keeps serving, nothing of the job is left, and
a retry succeeds. And the sweep that makes it so."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import select

from kaifang.datasets.actions import do_publish_version, do_retry
from kaifang.datasets.jobs import run_job, work_dir
from kaifang.datasets.models import DatasetVersion, IngestJob
from kaifang.datasets.queries import current_version
from kaifang.datasets.recovery import stuck_jobs, sweep
from kaifang.datasets.storage import storage_for
from kaifang.db import utcnow
from kaifang.ingest import Kind, Plan, mask
from tests.unit.datasets.helpers import HEADER, apply, make_world, receive, rows, stage, write_csv

PLAN = Plan({"身份证号": mask(Kind.RESIDENT_ID)})
WORKER = "import sys; from kaifang.config import Settings; from kaifang.datasets.jobs import run_job; " \
         "run_job(Settings(), sys.argv[1])"


@pytest.fixture
def world(session, settings):
    return make_world(session, settings)


def _big_csv(path, copies=150):
    block = "".join(",".join(r) + "\n" for r in rows(1000))
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(HEADER) + "\n")
        for _ in range(copies):
            fh.write(block)
    return path


def _worker(settings, job_id):
    env = {**os.environ, "KAIFANG_DATABASE_URL": settings.database_url, "KAIFANG_DATA_DIR": str(settings.data_dir),
           "KAIFANG_SECRET_KEY": settings.secret_key, "KAIFANG_ENVIRONMENT": "test", "KAIFANG_LOG_JSON": "false"}
    return subprocess.Popen([sys.executable, "-c", WORKER, job_id], env=env)


def _wait_for_progress(session, job_id, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        session.expire_all()
        if session.get(IngestJob, job_id).rows_processed > 0:
            return
        time.sleep(0.02)
    raise AssertionError("the worker made no progress before it ended")


def test_a_killed_worker_leaves_the_previous_version_serving(session, settings, world, tmp_path):
    checked = stage(session, settings, world, write_csv(tmp_path / "v1.csv"))
    first = apply(session, settings, world, checked, PLAN).version
    do_publish_version(session, world.staff, first)
    session.commit()

    big = receive(settings, _big_csv(tmp_path / "v2.csv"))
    job = IngestJob(entry_id=world.entry.id, kind="apply", input_path=big.relative, plan=PLAN.as_dict(),
                    source={"type": "upload", "file_name": big.file_name}, created_by_id=world.staff.id)
    session.add(job)
    session.commit()
    proc = _worker(settings, job.id)
    try:
        _wait_for_progress(session, job.id, proc)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    session.expire_all()
    assert session.get(IngestJob, job.id).status == "running"  # as the dead worker left it
    assert work_dir(settings, job.id).exists()

    assert sweep(settings) == [job.id]  # what a starting worker does
    session.expire_all()
    killed = session.get(IngestJob, job.id)
    assert (killed.status, killed.error_code, killed.retryable) == ("failed", "interrupted", True)
    assert not work_dir(settings, job.id).exists()
    assert session.scalars(select(DatasetVersion.number)).all() == [1]
    assert current_version(session, world.entry.id).id == first.id
    assert [f.key for f in storage_for(settings).files()] == [first.storage_key]

    do_retry(session, world.staff, killed)
    session.commit()
    assert run_job(settings, job.id) == "succeeded"
    session.expire_all()
    retried = session.get(IngestJob, job.id)
    assert (retried.attempts, retried.version.number, retried.version.rows) == (2, 2, 150_000)
    assert current_version(session, world.entry.id).id == first.id  # a draft until published


def test_stale_jobs_of_other_hosts_and_left_over_files(session, settings, world, tmp_path):
    now = utcnow()
    other = IngestJob(entry_id=world.entry.id, kind="apply", status="running", worker="elsewhere:1",
                      heartbeat_at=now - dt.timedelta(minutes=3), input_path="uploads/kept/a.csv")
    old_upload = IngestJob(entry_id=world.entry.id, kind="stage", status="succeeded", input_path="uploads/old/a.csv",
                           created_at=now - dt.timedelta(days=3))
    waiting = IngestJob(entry_id=world.entry.id, kind="stage", created_at=now - dt.timedelta(hours=1),
                        input_path="uploads/waiting/a.csv")
    session.add_all([other, old_upload, waiting])
    session.commit()
    hours_ago = (now - dt.timedelta(hours=2)).timestamp()
    for folder in ("kept", "old", "waiting", "arriving", "abandoned"):
        path = settings.data_dir / "uploads" / folder / "a.csv"
        path.parent.mkdir(parents=True)
        path.write_text("a\n1\n")
        if folder in ("old", "abandoned"):
            os.utime(path, (hours_ago, hours_ago))
            os.utime(path.parent, (hours_ago, hours_ago))
    storage = storage_for(settings)
    for key, aged in (("e/9.parquet", True), ("e/10.parquet", False)):
        local = tmp_path / f"{aged}.parquet"
        local.write_bytes(b"x")
        storage.put(local, key)
        if aged:
            os.utime(settings.data_dir / "versions" / key, (hours_ago, hours_ago))

    assert sweep(settings, now) == []  # a recent report from another host: still alive
    assert sweep(settings, now + dt.timedelta(minutes=20)) == [other.id]
    left = sorted(p.name for p in (settings.data_dir / "uploads").iterdir())
    assert left == ["arriving", "kept", "waiting"]  # in use, or maybe still arriving
    assert [f.key for f in storage.files()] == ["e/10.parquet"]  # maybe about to get its row
    assert stuck_jobs(session, now) == [waiting.id]


def test_a_job_stopped_after_storing_its_version_only_profiles_on_retry(session, settings, world, tmp_path,
                                                                         monkeypatch):
    from kaifang.datasets import jobs

    checked = stage(session, settings, world, write_csv(tmp_path / "a.csv", 30))

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # what a stop between the commit and the profile looks like

    monkeypatch.setattr(jobs, "profile_output", killed)
    with pytest.raises(KeyboardInterrupt):
        apply(session, settings, world, checked, PLAN)
    monkeypatch.undo()
    job = session.scalars(select(IngestJob).where(IngestJob.kind == "apply")).one()
    assert job.status == "running" and job.version.profile == {}  # stored, queryable, not profiled
    assert sweep(settings, utcnow() + dt.timedelta(minutes=20)) == [job.id]
    session.expire_all()
    do_retry(session, world.staff, session.get(IngestJob, job.id))
    session.commit()
    assert run_job(settings, job.id) == "succeeded"
    session.expire_all()
    assert session.scalars(select(DatasetVersion.number)).all() == [1]  # no second version
    assert session.get(IngestJob, job.id).version.profile["rows"] == 30
