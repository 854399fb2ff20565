"""The platform's huey queue as producers of ingest jobs see it.

Pages and the API enqueue ingest jobs, but the layer contract keeps them independent of
``kaifang.jobs``. So the queue is built here, below both, by ``make_queue`` (which ``kaifang.jobs``
uses too: one queue, one definition), and the ingest task is registered on every instance by
``register_ingest_task``: a worker runs it, a web process only names it when enqueueing.
"""

from __future__ import annotations

from pathlib import Path
from threading import Lock

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper

from kaifang.config import Settings
from kaifang.datasets.jobs import run_job

QUEUE_NAME = "kaifang"
INGEST_TASK = "kaifang.ingest_job"

_producers: dict[tuple[str, str, str], TaskWrapper] = {}
_lock = Lock()


def make_queue(settings: Settings) -> Huey:
    """SqliteHuey in the data folder (embedded), RedisHuey when ``redis_url`` is set."""
    if settings.redis_url:
        return RedisHuey(QUEUE_NAME, url=settings.redis_url)
    path = Path(settings.data_dir) / "jobs.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(QUEUE_NAME, filename=str(path))


def register_ingest_task(huey: Huey, settings: Settings) -> TaskWrapper:
    @huey.task(name=INGEST_TASK)
    def ingest_job(job_id: str) -> str:
        return run_job(settings, job_id)

    return ingest_job


def enqueue(settings: Settings, job_id: str) -> None:
    """Queue ``job_id`` for a worker (call after the job row is committed)."""
    key = (settings.redis_url, str(settings.data_dir), settings.database_url)
    with _lock:
        task = _producers.get(key)
        if task is None:
            task = _producers[key] = register_ingest_task(make_queue(settings), settings)
    task(job_id)
