"""Limits on guessing (login and reset attempts) and on the data API (rates and daily quotas), with
``limits``."""

from __future__ import annotations

import datetime as dt
import time
from typing import cast

from fastapi import FastAPI
from limits import RateLimitItemPerMinute, storage, strategies

from kaifang.auth.models import ApiToken
from kaifang.config import Settings
from kaifang.errors import RateLimited
from kaifang.i18n import _

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


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


class ApiMeter:
    """Rate limits and daily quotas of the data API (``limits``: in memory in one process, Redis
    when ``KAIFANG_REDIS_URL`` is set, so every app node shares the same counts).

    A token (or a signed-in user) has a per-minute rate and a daily quota; anonymous callers have
    both per client address. Quotas count Beijing days: a counter per day, renewed at midnight in
    China (a fixed window of ``limits`` would renew at midnight UTC).
    """

    def __init__(self, settings: Settings) -> None:
        self._backend = storage.storage_from_string(settings.redis_url) if settings.redis_url \
            else storage.MemoryStorage()
        self.settings = settings

    def _limits(self, token: ApiToken | None, user_id: str | None, client: str) -> tuple[int, int, str]:
        s = self.settings
        if token is not None:
            return (token.rate_per_minute or s.api_rate_per_minute, token.daily_quota or s.api_daily_quota,
                    f"token/{token.id}")
        if user_id:
            return s.api_rate_per_minute, s.api_daily_quota, f"user/{user_id}"
        return s.api_anonymous_rate_per_minute, s.api_anonymous_daily_quota, f"ip/{client[:64]}"

    def hit(self, token: ApiToken | None, user_id: str | None, client: str, now: dt.datetime) -> dict[str, str]:
        """Counts one call; raises ``RateLimited`` (429) past a limit. Returns the response's
        ``X-RateLimit-*`` headers."""
        rate, quota, who = self._limits(token, user_id, client)
        # Two counters with an expiry each (a fixed window of a minute, and the Beijing day): one
        # increment apiece is all a call costs, in memory or in Redis.
        minute = int(time.time() // 60)
        calls = cast(int, self._backend.incr(f"kaifang/api-rate/{who}/{minute}", 120))
        reset = (minute + 1) * 60
        if calls > rate:
            wait = max(1, int(reset - time.time()) + 1)
            raise RateLimited(_("Too many requests: at most %(n)s a minute. Try again in %(s)s seconds.",
                                n=rate, s=wait), wait)
        day = now.astimezone(CHINA_TZ).date().isoformat()
        used = cast(int, self._backend.incr(f"kaifang/api-quota/{who}/{day}", 2 * 24 * 3600))
        if used > quota:
            raise RateLimited(_("The daily quota of %(n)s data API calls is used up. It renews at midnight "
                                "(Beijing time).", n=quota), _seconds_to_china_midnight(now))
        return {"X-RateLimit-Limit": str(rate), "X-RateLimit-Remaining": str(max(0, rate - calls)),
                "X-RateLimit-Reset": str(reset), "X-Quota-Limit": str(quota),
                "X-Quota-Remaining": str(max(0, quota - used))}


def _seconds_to_china_midnight(now: dt.datetime) -> int:
    local = now.astimezone(CHINA_TZ)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), CHINA_TZ)
    return max(1, int((midnight - local).total_seconds()))


def api_meter(app: FastAPI) -> ApiMeter:
    meter: ApiMeter | None = getattr(app.state, "api_meter", None)
    if meter is None:
        meter = app.state.api_meter = ApiMeter(app.state.settings)
    return meter
