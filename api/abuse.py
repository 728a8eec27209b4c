"""Guards of the forms anyone may send (tip-offs, Art. 22): a signed single-use question and
the per-address and global rate limits, shared by the API and the public page."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from flask import Flask, current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.context import runtime
from certification.supervision import PublishedChannels

EXTENSION = "lifecert.human_check"


class HumanCheck:
    """A signed arithmetic question in Chinese numerals and digits, answerable once, not
    sooner than ``min_seconds`` after it was shown nor later than ``max_seconds``."""

    NUMERALS = "零一二三四五六七八九十"

    def __init__(self, min_seconds: float = 3.0, max_seconds: int = 1800) -> None:
        self.min_seconds = min_seconds
        self.max_seconds = max_seconds
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()
        self._redis: Any = None

    def use_redis(self, url: str | None) -> None:
        """Remember answered questions in Redis: once means once across processes."""
        import redis

        self._redis = redis.Redis.from_url(url) if url else None

    def _serializer(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(str(current_app.secret_key), salt="tipoff-human-check")

    def new(self) -> tuple[str, str]:
        """(question, signed token) for the form."""
        a, b = secrets.randbelow(9) + 1, secrets.randbelow(9) + 1
        question = f"{self.NUMERALS[a]} 加 {b} 等于几？ / {a} + {b} = ?"
        token = self._serializer().dumps({"s": a + b, "n": secrets.token_hex(8), "t": time.time()})
        return question, token

    def passes(self, token: str, answer: str) -> bool:
        try:
            data = self._serializer().loads(token, max_age=self.max_seconds)
        except (SignatureExpired, BadSignature):
            return False
        if time.time() - float(data["t"]) < self.min_seconds:
            return False
        if answer.strip() != str(data["s"]):
            return False
        if self._redis is not None:
            key = f"lifecert:human-check:{data['n']}"
            return bool(self._redis.set(key, 1, nx=True, ex=self.max_seconds))
        with self._lock:
            now = time.monotonic()
            for nonce in [n for n, at in self._used.items() if now - at > self.max_seconds]:
                del self._used[nonce]
            if data["n"] in self._used:
                return False
            self._used[data["n"]] = now
        return True


def install_human_check(app: Flask, redis_url: str | None) -> None:
    """One question checker per app, remembering answered questions in Redis when shared."""
    check = HumanCheck()
    check.use_redis(redis_url)
    app.extensions[EXTENSION] = check


def human_check() -> HumanCheck:
    check: HumanCheck = current_app.extensions[EXTENSION]
    return check


def channels() -> PublishedChannels:
    """Where tip-offs are also taken: phone, fax, post (Art. 22)."""
    s = runtime().settings
    return PublishedChannels(s.tipoff_phone, s.tipoff_fax, s.tipoff_address, s.tipoff_postcode)
