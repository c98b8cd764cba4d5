"""With Redis unreachable the API keeps answering: throttles and the log-in lockout count in a
process-local cache instead (logged), and still refuse past their limits."""

import logging
import os

import pytest
import redis
from rest_framework.throttling import UserRateThrottle

from cets.common.cache import FallbackRedisCache

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"
# Nothing listens on port 1: every connection is refused at once.
DEAD_REDIS = {"default": {"BACKEND": "cets.common.cache.FallbackRedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                          "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}


@pytest.fixture
def redis_down(settings, caplog):
    settings.CACHES = DEAD_REDIS
    caplog.set_level(logging.WARNING, logger="cets.cache")
    return caplog


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "cets.cache"]


def test_the_api_answers_and_throttles_locally(redis_down, api, entity_user, entity, monkeypatch):
    from django.core.cache import caches

    assert isinstance(caches["default"], FallbackRedisCache)
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/min", "anon": "3/min"})
    client = api(entity_user)
    answers = [client.get("/api/v1/entities/") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].json()["results"][0]["name"] == entity.name
    assert answers[3].json()["error"]["code"] == "throttled"
    warnings = _warnings(redis_down)
    # One connection attempt and one warning for the whole retry window, not one per call.
    assert len(warnings) == 1 and warnings[0].startswith("Redis cache unreachable")


def test_login_lockout_still_holds_with_redis_down(redis_down, client, entity_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    login = {"username": entity_user.username}
    for _ in range(3):
        response = client.post("/login/", {**login, "password": "wrong-password"}, REMOTE_ADDR="10.0.0.9")
        assert response.status_code == 200 and "Please enter a correct username" in response.content.decode()
    locked = client.post("/login/", {**login, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9")
    assert locked.status_code == 200
    assert "Too many failed log-in attempts. Please wait 15 minutes" in locked.content.decode()
    assert client.get("/home/").status_code == 302  # not logged in
    # From another address the right password still logs in (the count is per user and address).
    assert client.post("/login/", {**login, "password": PASSWORD}, REMOTE_ADDR="10.0.0.8").status_code == 302
    assert _warnings(redis_down)


def test_redis_is_tried_again_after_the_retry_window(caplog):
    caplog.set_level(logging.WARNING, logger="cets.cache")
    backend = FallbackRedisCache("redis://127.0.0.1:1/0", {"FALLBACK_RETRY_SECONDS": 0,
                                                            "OPTIONS": {"socket_connect_timeout": 1}})
    backend.set("k", 41)
    assert backend.incr("k") == 42 and backend.get("k") == 42
    # With no retry window every call tried Redis again, and each failure was logged.
    assert len(_warnings(caplog)) == 3


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)")
def test_with_redis_up_the_values_live_in_redis(caplog):
    caplog.set_level(logging.WARNING, logger="cets.cache")
    url = os.environ["REDIS_URL"]
    backend = FallbackRedisCache(url, {"KEY_PREFIX": "cets-test-fallback"})
    backend.set("k", 7, 30)
    assert redis.Redis.from_url(url).exists(backend.make_key("k")) == 1
    assert backend.get("k") == 7 and not backend._local.get("k")
    backend.delete("k")
    assert not _warnings(caplog)
