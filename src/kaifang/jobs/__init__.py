"""Background jobs (huey): deadline reminders and overdue marking, thin wrappers over
``kaifang.cases.reminders``. ``SqliteHuey`` embedded, ``RedisHuey`` when ``settings.redis_url`` is set."""

from kaifang.jobs.tasks import Jobs, huey_for, jobs_for, run_consumer, start_background_consumer

__all__ = ["Jobs", "huey_for", "jobs_for", "run_consumer", "start_background_consumer"]
