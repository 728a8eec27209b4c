"""Sessions, CSRF, the content security policy, rate limits and the human check of the pages.

- Staff sign in with a password; the session cookie (signed, HTTP-only, SameSite=Lax,
  Secure unless configured otherwise) names the account only: every request reloads the
  account, so a disabled account or a changed scope takes effect at once.
- Every form and every script request that changes something carries the session's CSRF
  token (a hidden field or the ``X-CSRF-Token`` header).
- The public tip-off form has no login: a per-address and a global rate limit (shared
  through Redis when the service has a Redis broker), a honeypot
  field, a minimum filling time and a signed, single-use arithmetic question stand in for
  a captcha (no third-party service can be reached from the agency's network).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import abort, current_app, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from api.context import ctx, runtime
from certification.access import Actor
from certification.errors import AuthenticationFailed
from certification.services import accounts as account_service
from certification.vocabulary import AccountKind

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
STAFF_KINDS = frozenset({AccountKind.STAFF, AccountKind.OPERATOR})


def content_security_policy(extra_connect: str = "") -> str:
    """No inline script or style anywhere; media from this origin or the recorder's blobs."""
    connect = " ".join(filter(None, ["'self'", extra_connect]))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; "
        f"connect-src {connect}; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    )


def csrf_token() -> str:
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def check_csrf() -> None:
    """Refuse a state-changing request without this session's token (403)."""
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), sent):
        abort(403, description="csrf")


def sign_in(account_id: uuid.UUID) -> None:
    """A fresh session (new CSRF token) for the account: no session fixation."""
    lang = session.get("lang")
    session.clear()
    session["staff_id"] = str(account_id)
    session["signed_in_at"] = datetime.now(UTC).isoformat()
    if lang:
        session["lang"] = lang
    session.permanent = True
    csrf_token()


def sign_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def staff_actor() -> Actor | None:
    """The signed-in staff member or operator, or None (expired, disabled, not signed in)."""
    raw = session.get("staff_id")
    if not raw:
        return None
    hours = runtime().settings.console_session_hours
    try:
        at = datetime.fromisoformat(session.get("signed_in_at", ""))
        account_id = uuid.UUID(raw)
    except ValueError:
        sign_out()
        return None
    if datetime.now(UTC) - at > timedelta(hours=hours):
        sign_out()
        return None
    try:
        account = account_service.load_active_account(ctx(), account_id)
    except AuthenticationFailed:
        sign_out()
        return None
    if account.kind not in STAFF_KINDS:
        sign_out()
        return None
    return account_service.actor_for(account, request.remote_addr)


class RateLimiter:
    """Sliding-window counts per key: in this process, or shared by every process through
    Redis once ``use_redis`` is called (the service runs several processes in production)."""

    PREFIX = "lifecert:ratelimit:"

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._redis: Any = None

    def use_redis(self, url: str | None) -> None:
        import redis

        self._redis = redis.Redis.from_url(url) if url else None

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

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
        if self._redis is not None:
            for name in self._redis.scan_iter(self.PREFIX + "*"):
                self._redis.delete(name)


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
