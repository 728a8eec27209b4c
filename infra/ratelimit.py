"""Counting failures per key: in this process, or shared by every process through Redis (the
service runs several processes in production; the embedded mode runs one). Request-rate
limits are Flask-Limiter's (api/limits.py)."""

from __future__ import annotations

import secrets
import threading
from collections import deque
from typing import Any


class FailureCounter:
    """Failures per key over the last hour and the time of the last one (the staff sign-in's
    growing delays, certification.services.signin): in this process, or in Redis once
    ``use_redis`` is called."""

    PREFIX = "lifecert:failures:"
    WINDOW_S = 3600.0

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
