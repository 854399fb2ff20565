"""Ingest tasks on the platform queue: the job runner, scheduled pulls and the hourly sweep.

Thin wrappers over ``kaifang.datasets``: the task that runs a job is registered by
``kaifang.datasets.queue`` (pages and the API enqueue it by name), the periodic ones here.
"""

from __future__ import annotations

from dataclasses import dataclass

from huey import Huey, crontab
from huey.api import TaskWrapper

from kaifang.config import Settings
from kaifang.datasets.actions import create_pull_job
from kaifang.datasets.pull import due_sources
from kaifang.datasets.queue import enqueue, register_ingest_task
from kaifang.datasets.recovery import stuck_jobs, sweep
from kaifang.db import make_engine, make_session_factory, unit_of_work, utcnow

# Every quarter of an hour, off the minutes of the daily deadline jobs.
PULL_SCHEDULE = {"minute": "7,22,37,52"}
SWEEP_SCHEDULE = {"minute": "41"}


@dataclass(frozen=True)
class IngestTasks:
    ingest_job: TaskWrapper
    pulls_due: TaskWrapper
    sweep_hourly: TaskWrapper


def start_pulls_due(settings: Settings) -> int:
    """Create and queue a pull job for every source whose update frequency says it is due."""
    engine = make_engine(settings.database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            jobs = [job for source in due_sources(session, utcnow())
                    if (job := create_pull_job(session, source)) is not None]
            ids = [job.id for job in jobs]
    finally:
        engine.dispose()
    for job_id in ids:
        enqueue(settings, job_id)
    return len(ids)


def recover(settings: Settings) -> int:
    """Fail the jobs of dead workers, clean their files, and queue again jobs whose message was lost."""
    failed = sweep(settings)
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            lost = stuck_jobs(session, utcnow())
    finally:
        engine.dispose()
    for job_id in lost:
        enqueue(settings, job_id)
    return len(failed)


def register(huey: Huey, settings: Settings) -> IngestTasks:
    ingest_job = register_ingest_task(huey, settings)

    @huey.periodic_task(crontab(**PULL_SCHEDULE), name="kaifang.ingest_pulls_due")
    def pulls_due() -> int:
        return start_pulls_due(settings)

    @huey.periodic_task(crontab(**SWEEP_SCHEDULE), name="kaifang.ingest_sweep")
    def sweep_hourly() -> int:
        return recover(settings)

    return IngestTasks(ingest_job=ingest_job, pulls_due=pulls_due, sweep_hourly=sweep_hourly)
