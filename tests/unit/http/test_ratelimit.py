"""Login attempts are limited per client and account, in memory or in Redis."""

from __future__ import annotations

import os
import uuid

import pytest

from kaifang.config import Environment, Settings
from kaifang.http.ratelimit import AttemptLimiter


def _exhaust(limiter: AttemptLimiter, key: str) -> list[bool]:
    return [limiter.hit("10.0.0.1", key) for _ in range(12)]


def test_memory_limiter_allows_ten_a_minute():
    limiter = AttemptLimiter(Settings(environment=Environment.TEST))
    results = _exhaust(limiter, "amy")
    assert results[:10] == [True] * 10 and results[10:] == [False, False]
    assert limiter.hit("10.0.0.1", "bob")  # another account is not affected


@pytest.mark.redis
def test_redis_limiter_is_shared_between_instances():
    url = os.environ.get("KAIFANG_TEST_REDIS_URL")
    if not url:
        pytest.skip("KAIFANG_TEST_REDIS_URL not set")
    settings = Settings(environment=Environment.TEST, redis_url=url)
    key = f"amy-{uuid.uuid4().hex}"
    first, second = AttemptLimiter(settings), AttemptLimiter(settings)
    for _ in range(10):
        assert first.hit("10.0.0.1", key)
    assert not second.hit("10.0.0.1", key)  # two app nodes see one count
