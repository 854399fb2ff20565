"""Limits on guessing: login and reset attempts per client address and account (``limits``)."""

from __future__ import annotations

from fastapi import FastAPI
from limits import RateLimitItemPerMinute, storage, strategies

from kaifang.config import Settings


class AttemptLimiter:
    def __init__(self, settings: Settings, per_minute: int = 10) -> None:
        backend = storage.storage_from_string(settings.redis_url) if settings.redis_url else storage.MemoryStorage()
        self._limiter = strategies.MovingWindowRateLimiter(backend)
        self._item = RateLimitItemPerMinute(per_minute)

    def hit(self, client: str, key: str) -> bool:
        """True if the attempt may go ahead."""
        return self._limiter.hit(self._item, "attempt", client, key[:200])


def login_limiter(app: FastAPI) -> AttemptLimiter:
    limiter: AttemptLimiter | None = getattr(app.state, "login_limiter", None)
    if limiter is None:
        limiter = app.state.login_limiter = AttemptLimiter(app.state.settings)
    return limiter
