"""The deadline jobs run through real huey queues: SQLite (embedded) and Redis (production)."""

from __future__ import annotations

import datetime as dt
import os
import signal
from collections.abc import Iterator

import pytest
from huey import RedisHuey, SqliteHuey
from sqlalchemy import select

from kaifang.cases.actions import do_open_case
from kaifang.cases.models import Case, Notification
from kaifang.jobs import huey_for, jobs_for
from tests.unit.cases.helpers import PROVIDER_CASE, as_actor, at, make_people

REDIS_URL = os.environ.get("KAIFANG_TEST_REDIS_URL", "")


@pytest.fixture
def due_case(session, settings) -> Case:
    """A case due on 2025-10-20 (opened 2025-09-29, 10 working days, National Day skipped)."""
    people = make_people(session, settings)
    with at(dt.date(2025, 9, 29)):
        case = do_open_case(session, settings, as_actor(session, people.opener), PROVIDER_CASE.key, "疑义",
                            "数据有误", assignee_org=people.org)
    session.commit()
    return case


def _reload(session, case: Case) -> Case:
    session.expire_all()
    found = session.get(Case, case.id)
    assert found is not None
    return found


def test_huey_for_picks_the_backend_from_the_settings(settings):
    embedded = huey_for(settings)
    assert isinstance(embedded, SqliteHuey)
    assert embedded.storage.filename == str(settings.data_dir / "jobs.db")
    assert isinstance(huey_for(settings.with_overrides(redis_url="redis://127.0.0.1:6379/15")), RedisHuey)


def test_tasks_are_daily_periodic_tasks(settings):
    huey = huey_for(settings)
    at_midnight_beijing = dt.datetime(2025, 10, 20, 16, 5)
    at_morning_beijing = dt.datetime(2025, 10, 21, 0, 30)
    assert [t.name for t in huey.read_periodic(at_midnight_beijing)] == ["kaifang.mark_overdue_daily"]
    assert [t.name for t in huey.read_periodic(at_morning_beijing)] == ["kaifang.send_reminders_daily"]
    assert huey.read_periodic(dt.datetime(2025, 10, 21, 9, 0)) == []


def test_the_daily_trigger_runs_for_today(session, settings, due_case):
    jobs = jobs_for(settings)
    with at(dt.date(2025, 10, 21)):
        assert jobs.mark_overdue_daily.call_local() == 1
    assert _reload(session, due_case).overdue


def test_enqueued_tasks_run_on_a_sqlite_queue(session, settings, due_case):
    jobs = jobs_for(settings)
    jobs.huey.immediate = False
    result = jobs.mark_overdue("2025-10-21")
    assert len(jobs.huey) == 1
    jobs.huey.execute(jobs.huey.dequeue())
    assert result.get() == 1
    assert _reload(session, due_case).overdue
    # Run again in-process: nothing new to mark.
    assert jobs.mark_overdue.call_local("2025-10-21") == 0


def test_reminders_task_in_process(session, settings, due_case):
    jobs = jobs_for(settings)
    assert jobs.send_reminders.call_local("2025-10-15") == 1
    assert jobs.send_reminders.call_local("2025-10-15") == 0
    session.expire_all()
    kinds = session.scalars(select(Notification.kind).where(Notification.case_id == due_case.id))
    assert "case_reminder" in set(kinds)


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """The consumer installs signal handlers in the main thread; give pytest its own back."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_a_consumer_thread_runs_the_queued_task(session, settings, due_case, keep_signal_handlers):
    jobs = jobs_for(settings)
    jobs.huey.immediate = False
    consumer = jobs.huey.create_consumer(workers=1, periodic=False, initial_delay=0.05, max_delay=0.2,
                                         check_worker_health=False, worker_type="thread")
    consumer.start()
    try:
        result = jobs.mark_overdue("2025-10-21")
        assert result.get(blocking=True, timeout=20) == 1
    finally:
        consumer.stop(graceful=True)
    assert _reload(session, due_case).overdue


@pytest.mark.redis
@pytest.mark.skipif(not REDIS_URL, reason="KAIFANG_TEST_REDIS_URL is not set")
def test_the_same_task_runs_through_redis(session, settings, due_case):
    jobs = jobs_for(settings.with_overrides(redis_url=REDIS_URL))
    assert isinstance(jobs.huey, RedisHuey)
    jobs.huey.immediate = False
    jobs.huey.flush()
    try:
        result = jobs.mark_overdue("2025-10-21")
        assert len(jobs.huey) == 1
        jobs.huey.execute(jobs.huey.dequeue())
        assert result.get() == 1
    finally:
        jobs.huey.flush()
    assert _reload(session, due_case).overdue


def test_the_demo_consumer_catches_up_at_start(session, settings, due_case, keep_signal_handlers):
    """`kaifang demo` starts a worker beside the server; its catch-up run marks old cases overdue."""
    import time

    from kaifang.jobs import start_background_consumer

    consumer = start_background_consumer(settings)
    try:
        deadline = time.monotonic() + 20
        while not _reload(session, due_case).overdue and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        consumer.stop(graceful=True)
    assert _reload(session, due_case).overdue
