"""The shared cache: Redis, degrading to a process-local cache while Redis is unreachable.

API throttles (DRF) and the log-in lockout (``cets.common.forms``) count in the default cache. If
Redis is down, Django's RedisCache raises on every call and every request would answer 500; this
backend logs a warning and serves those calls from a ``LocMemCache`` in the process instead, so the
API keeps answering and throttling and lockout still hold, per process, until Redis is back. During
an outage the limits count per web process (a client spread over N workers gets up to N times the
limit): degraded but never open. Redis is tried again ``FALLBACK_RETRY_SECONDS`` (default 30) after
a failure, so an outage costs one connection attempt per process per window, not one per call.
"""

import logging
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("cets.cache")

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)


def _with_fallback(name: str):
    def method(self, *args, **kwargs):
        if time.monotonic() >= self._retry_at:
            try:
                result = getattr(RedisCache, name)(self, *args, **kwargs)
            except REDIS_DOWN as exc:
                self._retry_at = time.monotonic() + self._retry_seconds
                logger.warning("Redis cache unreachable (%s); using the process-local cache for %s s",
                               exc, self._retry_seconds)
            else:
                if self._retry_at:
                    self._retry_at = 0.0
                    logger.warning("Redis cache reachable again; leaving the process-local cache")
                return result
        return getattr(self._local, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, or the process-local cache's while Redis is unreachable."
    return method


class FallbackRedisCache(RedisCache):
    """Django's RedisCache that falls back to a process-local cache while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._retry_seconds = float(params.get("FALLBACK_RETRY_SECONDS", 30))
        self._retry_at = 0.0  # monotonic time before which Redis is not tried; 0: Redis is up
        local = {key: params[key] for key in ("TIMEOUT", "KEY_PREFIX", "VERSION") if key in params}
        self._local = LocMemCache(f"redis-fallback:{server}", {**local, "OPTIONS": {"MAX_ENTRIES": 100_000}})

    add = _with_fallback("add")
    get = _with_fallback("get")
    set = _with_fallback("set")
    touch = _with_fallback("touch")
    delete = _with_fallback("delete")
    get_many = _with_fallback("get_many")
    has_key = _with_fallback("has_key")
    incr = _with_fallback("incr")
    set_many = _with_fallback("set_many")
    delete_many = _with_fallback("delete_many")
    clear = _with_fallback("clear")
