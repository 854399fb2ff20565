"""The huey instance and its tasks.

A huey instance is built from the settings (never at import time), and the tasks are registered
on it, so the worker, the web process and the tests each build the same queue from the same
settings. Every task opens its own unit of work; the domain functions never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from huey import Huey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer
from sqlalchemy.orm import Session

from kaifang.access import feedback
from kaifang.cases import reminders
from kaifang.config import Settings
from kaifang.datasets.queue import make_queue
from kaifang.db import make_engine, make_session_factory, unit_of_work
from kaifang.jobs import ingest

# Huey compares crontabs with UTC. 16:05 UTC is 00:05 in Beijing: a deadline that ended
# yesterday is marked just after midnight; reminders go out at 08:30 Beijing time.
OVERDUE_SCHEDULE = {"minute": "5", "hour": "16"}
REMINDER_SCHEDULE = {"minute": "30", "hour": "0"}
# Usage reports of periods that ended yesterday open at 00:01 Beijing time.
FEEDBACK_SCHEDULE = {"minute": "1", "hour": "16"}


@dataclass(frozen=True)
class Jobs:
    huey: Huey
    # On-demand tasks: call to enqueue (the result is the number of cases handled), or
    # ``.call_local()`` to run in-process. Both take an optional ISO date standing for "today".
    send_reminders: TaskWrapper
    mark_overdue: TaskWrapper
    # The daily triggers the consumer's scheduler runs (huey keeps no results of periodic tasks).
    send_reminders_daily: TaskWrapper
    mark_overdue_daily: TaskWrapper
    # Usage reports of conditional data falling due (kaifang.access.feedback): on demand and daily.
    open_feedback_reports: TaskWrapper
    open_feedback_reports_daily: TaskWrapper
    # Dataset ingest: the job runner and its periodic pulls and sweep (kaifang.jobs.ingest).
    ingest: ingest.IngestTasks


def huey_for(settings: Settings) -> Huey:
    """The queue with every task registered."""
    return jobs_for(settings).huey


def _queue(settings: Settings) -> Huey:
    # Built below the entry points, so that pages and the API can enqueue ingest jobs too.
    return make_queue(settings)


def _in_unit_of_work(settings: Settings, work: Callable[[Session], int]) -> int:
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


def _day(value: str | None) -> dt.date | None:
    # Tasks take ISO strings: huey pickles arguments and a date is clearer in the queue as text.
    return dt.date.fromisoformat(value) if value else None


def jobs_for(settings: Settings) -> Jobs:
    huey = _queue(settings)

    @huey.task(name="kaifang.send_reminders")
    def send_reminders(today: str | None = None) -> int:
        return _in_unit_of_work(settings, lambda s: reminders.send_reminders(s, settings, _day(today)))

    @huey.task(name="kaifang.mark_overdue")
    def mark_overdue(today: str | None = None) -> int:
        return _in_unit_of_work(settings, lambda s: reminders.mark_overdue(s, settings, _day(today)))

    @huey.periodic_task(crontab(**REMINDER_SCHEDULE), name="kaifang.send_reminders_daily")
    def send_reminders_daily() -> int:
        return int(send_reminders.call_local())

    @huey.periodic_task(crontab(**OVERDUE_SCHEDULE), name="kaifang.mark_overdue_daily")
    def mark_overdue_daily() -> int:
        return int(mark_overdue.call_local())

    @huey.task(name="kaifang.open_feedback_reports")
    def open_feedback_reports(today: str | None = None) -> int:
        return _in_unit_of_work(settings, lambda s: feedback.open_due_reports(s, settings, _day(today)))

    @huey.periodic_task(crontab(**FEEDBACK_SCHEDULE), name="kaifang.open_feedback_reports_daily")
    def open_feedback_reports_daily() -> int:
        return int(open_feedback_reports.call_local())

    return Jobs(huey=huey, send_reminders=send_reminders, mark_overdue=mark_overdue,
                send_reminders_daily=send_reminders_daily, mark_overdue_daily=mark_overdue_daily,
                open_feedback_reports=open_feedback_reports,
                open_feedback_reports_daily=open_feedback_reports_daily,
                ingest=ingest.register(huey, settings))


def run_consumer(settings: Settings, workers: int = 1) -> None:
    """Runs the worker in the foreground until interrupted (``kaifang worker``)."""
    huey = huey_for(settings)
    ingest.recover(settings)  # jobs of a worker that died are failed, its files removed
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


def start_background_consumer(settings: Settings) -> Consumer:
    """Starts worker and scheduler threads next to the web server (the embedded demo set-up)
    and queues one catch-up run of each daily job; call ``.stop()`` on the result to end them."""
    jobs = jobs_for(settings)
    ingest.recover(settings)
    consumer = jobs.huey.create_consumer(workers=1, worker_type="thread", periodic=True)
    consumer.start()
    jobs.open_feedback_reports()
    jobs.mark_overdue()
    jobs.send_reminders()
    return consumer
