"""Rate limits and daily quotas of the data API: per token (with its own overrides), per signed-in
user, per client address for anonymous callers; 429 with Retry-After; the quota renews at midnight
Beijing time. In memory, and in Redis shared by several app nodes."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid

import pytest
import time_machine
from fastapi.testclient import TestClient

from kaifang.app import create_app
from kaifang.auth.actions import do_create_token
from kaifang.auth.models import ApiToken
from kaifang.config import Environment, Settings
from kaifang.errors import RateLimited
from kaifang.http.ratelimit import ApiMeter
from tests.functional.conftest import login
from tests.unit.access.helpers import make_data_world, publish_entry

UTC = dt.UTC
# 23:59:30 on 1 March in Beijing.
BEFORE_MIDNIGHT = dt.datetime(2025, 3, 1, 15, 59, 30, tzinfo=UTC)
ROWS = "/api/v1/datasets/firms/rows"
REDIS_URL = os.environ.get("KAIFANG_TEST_REDIS_URL", "")


def meter(**limits: int) -> ApiMeter:
    values = {"api_rate_per_minute": 1000, "api_daily_quota": 1000, "api_anonymous_rate_per_minute": 1000,
              "api_anonymous_daily_quota": 1000, **limits}
    return ApiMeter(Settings(environment=Environment.TEST, **values))


def token(rate: int | None = None, quota: int | None = None) -> ApiToken:
    return ApiToken(id=uuid.uuid4().hex, rate_per_minute=rate, daily_quota=quota)


def hits(m: ApiMeter, n: int, *, token_: ApiToken | None = None, user: str | None = None, ip: str = "198.51.100.1",
         now: dt.datetime = BEFORE_MIDNIGHT) -> list[bool]:
    out = []
    for _ in range(n):
        try:
            m.hit(token_, user, ip, now)
            out.append(True)
        except RateLimited:
            out.append(False)
    return out


def test_anonymous_callers_are_limited_per_address():
    m = meter(api_anonymous_rate_per_minute=3)
    assert hits(m, 4) == [True, True, True, False]
    assert hits(m, 1, ip="198.51.100.2") == [True]
    with pytest.raises(RateLimited) as caught:
        m.hit(None, None, "198.51.100.1", BEFORE_MIDNIGHT)
    assert 1 <= caught.value.retry_after <= 61 and caught.value.status_code == 429


def test_tokens_and_users_have_their_own_counts_and_tokens_their_own_limits():
    m = meter(api_rate_per_minute=3, api_anonymous_rate_per_minute=1)
    strict, default = token(rate=1), token()
    assert hits(m, 2, token_=strict, user="u1") == [True, False]  # the token's override
    assert hits(m, 4, token_=default, user="u1") == [True, True, True, False]  # the platform's rate
    assert hits(m, 4, user="u1") == [True, True, True, False]  # signed in without a token
    assert hits(m, 2) == [True, False]  # anonymous: the anonymous rate


def test_a_token_may_have_its_own_daily_quota():
    m = meter(api_daily_quota=5)
    assert hits(m, 3, token_=token(quota=2)) == [True, True, False]
    assert hits(m, 6, token_=token()) == [True] * 5 + [False]


def test_the_daily_quota_renews_at_midnight_in_beijing():
    m = meter(api_anonymous_daily_quota=2)
    assert hits(m, 2) == [True, True]
    with pytest.raises(RateLimited) as caught:
        m.hit(None, None, "198.51.100.1", BEFORE_MIDNIGHT)
    assert caught.value.retry_after == 30  # seconds to 00:00 in Beijing
    assert hits(m, 1, now=BEFORE_MIDNIGHT + dt.timedelta(seconds=31)) == [True]


def test_midnight_utc_renews_nothing():
    m = meter(api_anonymous_daily_quota=2)
    morning_in_beijing = dt.datetime(2025, 3, 1, 17, 0, tzinfo=UTC)  # 2 March, 01:00 Beijing
    assert hits(m, 2, now=morning_in_beijing) == [True, True]
    next_utc_day = dt.datetime(2025, 3, 2, 1, 0, tzinfo=UTC)  # 2 March, 09:00 Beijing: the same day there
    assert hits(m, 1, now=next_utc_day) == [False]


def test_headers_tell_what_is_left():
    m = meter(api_anonymous_rate_per_minute=10, api_anonymous_daily_quota=50)
    m.hit(None, None, "203.0.113.5", BEFORE_MIDNIGHT)
    headers = m.hit(None, None, "203.0.113.5", BEFORE_MIDNIGHT)
    assert headers["X-RateLimit-Limit"] == "10" and headers["X-RateLimit-Remaining"] == "8"
    assert headers["X-Quota-Limit"] == "50" and headers["X-Quota-Remaining"] == "48"
    assert int(headers["X-RateLimit-Reset"]) > 0


# ---- through the API ------------------------------------------------------------------------------

@pytest.fixture
def settings(settings):
    return settings.with_overrides(access_log_flush_seconds=0, api_anonymous_rate_per_minute=2,
                                   api_rate_per_minute=3, api_daily_quota=1000)


@pytest.fixture
def firms(session, settings):
    world = make_data_world(session, settings)
    publish_entry(session, settings, world, "firms", ["企业名称", "员工数"], [["甲", 1], ["乙", 2]],
                  types={"员工数": "integer"})
    return world


def test_past_the_rate_the_api_answers_429_with_retry_after(firms, client):
    first = client.get(ROWS)
    assert first.status_code == 200 and first.headers["X-RateLimit-Remaining"] == "1"
    assert client.get("/api/v1/datasets/firms/download.csv").status_code == 200  # downloads count too
    refused = client.get(ROWS)
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 61
    error = refused.json()["error"]
    assert error["code"] == "RateLimited" and re.search(r"[\u4e00-\u9fff]", error["message"])
    english = client.get(ROWS, headers={"Accept-Language": "en"}).json()["error"]["message"]
    assert english.startswith("Too many requests: at most 2 a minute.")


def test_signed_in_users_count_apart_from_anonymous_callers(firms, client, new_client):
    assert [client.get(ROWS).status_code for _ in range(3)] == [200, 200, 429]
    signed_in = new_client()
    login(signed_in, "citizen")  # the same address, but counted as the user
    assert [signed_in.get(ROWS).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_tokens_own_rate(firms, session, client):
    strict_row, strict = do_create_token(session, firms.citizen, "strict", None)
    _other_row, other = do_create_token(session, firms.citizen, "other", None)
    strict_row.rate_per_minute = 1
    session.commit()
    assert [client.get(ROWS, headers={"Authorization": f"Bearer {strict}"}).status_code
            for _ in range(2)] == [200, 429]
    assert client.get(ROWS, headers={"Authorization": f"Bearer {other}"}).status_code == 200  # per token


def test_the_daily_quota_through_the_api(firms, session, settings):
    row, secret = do_create_token(session, firms.citizen, "harvester", None)
    row.daily_quota = 2
    session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    settings = settings.with_overrides(api_rate_per_minute=100)
    with TestClient(create_app(settings)) as client:
        with time_machine.travel(BEFORE_MIDNIGHT, tick=False):
            assert [client.get(ROWS, headers=auth).status_code for _ in range(2)] == [200, 200]
            refused = client.get(ROWS, headers=auth)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "30"
            english = client.get(ROWS, headers={**auth, "Accept-Language": "en"}).json()["error"]["message"]
            assert "midnight" in english
        with time_machine.travel(BEFORE_MIDNIGHT + dt.timedelta(minutes=1), tick=False):
            assert client.get(ROWS, headers=auth).status_code == 200  # a new day in Beijing


# ---- Redis ------------------------------------------------------------------------------------------

def redis_settings(**limits: int) -> Settings:
    if not REDIS_URL:
        pytest.skip("KAIFANG_TEST_REDIS_URL not set")
    return meter(**limits).settings.with_overrides(redis_url=REDIS_URL)


@pytest.mark.redis
def test_two_app_nodes_share_rates_in_redis():
    settings = redis_settings(api_anonymous_rate_per_minute=3)
    first, second = ApiMeter(settings), ApiMeter(settings)
    ip = f"redis-{uuid.uuid4().hex}"
    assert hits(first, 2, ip=ip) + hits(second, 2, ip=ip) == [True, True, True, False]


@pytest.mark.redis
def test_the_daily_quota_in_redis_renews_at_midnight_in_beijing():
    settings = redis_settings(api_daily_quota=2)
    first, second = ApiMeter(settings), ApiMeter(settings)
    t = token()
    assert hits(first, 1, token_=t) + hits(second, 2, token_=t) == [True, True, False]
    assert hits(second, 1, token_=t, now=BEFORE_MIDNIGHT + dt.timedelta(seconds=31)) == [True]


@pytest.mark.redis
def test_the_api_limits_through_redis(firms, session, settings):
    if not REDIS_URL:
        pytest.skip("KAIFANG_TEST_REDIS_URL not set")
    row, secret = do_create_token(session, firms.citizen, "harvester", None)  # a new token: a new count
    row.rate_per_minute = 3
    session.commit()
    nodes = [create_app(settings.with_overrides(redis_url=REDIS_URL)) for _ in range(2)]
    auth = {"Authorization": f"Bearer {secret}"}
    with TestClient(nodes[0]) as one, TestClient(nodes[1]) as two:
        codes = [c.get(ROWS, headers=auth).status_code for c in (one, two, one, two)]
    assert codes == [200, 200, 200, 429]
