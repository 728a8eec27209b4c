"""Counting requests and failures per key: in this process, or shared by every process through
Redis (the service runs several processes in production; the embedded mode runs one)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Any


class _Counts:
    """Timestamps per key: in this process, or in Redis once ``use_redis`` is called."""

    PREFIX = "lifecert:counts:"

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._redis: Any = None

    def use_redis(self, url: str | None) -> None:
        import redis

        self._redis = redis.Redis.from_url(url) if url else None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
        if self._redis is not None:
            for name in self._redis.scan_iter(self.PREFIX + "*"):
                self._redis.delete(name)


class RateLimiter(_Counts):
    """Sliding-window counts per key: in this process, or shared by every process through
    Redis once ``use_redis`` is called (the service runs several processes in production)."""

    PREFIX = "lifecert:ratelimit:"

    def allow(self, key: str, limit: int, window_s: float) -> bool:
        if self._redis is not None:
            return self._allow_shared(key, limit, window_s)
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            if len(self._hits) > 50_000:  # forget idle keys
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return True

    def _allow_shared(self, key: str, limit: int, window_s: float) -> bool:
        name, now, member = self.PREFIX + key, time.time(), secrets.token_hex(8)
        pipe = self._redis.pipeline(transaction=True)
        pipe.zremrangebyscore(name, 0, now - window_s)
        pipe.zadd(name, {member: now})
        pipe.zcard(name)
        pipe.expire(name, int(window_s) + 1)
        count = pipe.execute()[2]
        if count > limit:
            self._redis.zrem(name, member)  # a refused request does not use up the window
            return False
        return True


class FailureCounter(_Counts):
    """Failures per key over the last hour and the time of the last one (the staff sign-in's
    growing delays, certification.services.signin)."""

    PREFIX = "lifecert:failures:"
    WINDOW_S = 3600.0

    def failures(self, key: str, now: float) -> tuple[int, float]:
        if self._redis is not None:
            name = self.PREFIX + key
            self._redis.zremrangebyscore(name, 0, now - self.WINDOW_S)
            last = self._redis.zrevrange(name, 0, 0, withscores=True)
            return int(self._redis.zcard(name)), float(last[0][1]) if last else 0.0
        with self._lock:
            hits = self._hits.get(key)
            if not hits:
                return 0, 0.0
            while hits and hits[0] <= now - self.WINDOW_S:
                hits.popleft()
            return len(hits), (hits[-1] if hits else 0.0)

    def record(self, key: str, now: float) -> None:
        if self._redis is not None:
            name = self.PREFIX + key
            pipe = self._redis.pipeline(transaction=True)
            pipe.zadd(name, {secrets.token_hex(8): now})
            pipe.expire(name, int(self.WINDOW_S) + 1)
            pipe.execute()
            return
        with self._lock:
            self._hits.setdefault(key, deque(maxlen=1000)).append(now)
            if len(self._hits) > 50_000:
                cutoff = now - self.WINDOW_S
                for k in [k for k, v in self._hits.items() if not v or v[-1] <= cutoff]:
                    del self._hits[k]

    def clear(self, key: str) -> None:
        if self._redis is not None:
            self._redis.delete(self.PREFIX + key)
            return
        with self._lock:
            self._hits.pop(key, None)
