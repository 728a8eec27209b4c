"""Every request-rate limit of the web service, in one table, enforced by Flask-Limiter.

Counts live in Redis when the service has a Redis broker (every process shares them) and in
the process otherwise (the embedded mode); if Redis stops answering, each process counts in
memory until it is back (decision 0021). Limits with the same ``scope`` share their counts
across endpoints: a tip-off through the API and one through the page use up one allowance.

Not here, because they are rules of the procedure rather than of request rates, kept in
``certification``: a sign-in code's resend interval and tries per phone (``CodePolicy``),
the staff sign-in's growing delays after failures (``FailureCounter``), the self-service
attempts' lock-out (``AttemptLimits``). The status streams' cap is on concurrent
connections, not on a rate (``api/streams.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded

from certification.errors import TooManyRequests
from infra.settings import Settings

EXTENSION = "lifecert_limits"


def client_address() -> str:
    """The client's address (the proxy's X-Forwarded-For, as trusted by ProxyFix)."""
    return request.remote_addr or "unknown"


def everyone() -> str:
    return "all"


def account() -> str:
    """The signed-in account (the bearer token is checked here: no token, a 401 first)."""
    from api.auth import current_actor

    return f"account:{current_actor().account_id}"


def has_receipt_code() -> bool:
    return bool((request.view_args or {}).get("code") or request.args.get("code"))


@dataclass(frozen=True, slots=True)
class Rule:
    scope: str
    endpoints: tuple[str, ...]  # Flask endpoints (API views and the pages)
    rate: Callable[[Settings], str]  # e.g. "5 per hour"
    per: Callable[[], str]
    message: str
    methods: tuple[str, ...] = ("POST",)
    only_when: Callable[[], bool] | None = None  # otherwise the request is not counted


TIPOFF = ("tipoffs.Reports", "public.tipoff")
RECEIPT_CHECKS = ("receipts.ReceiptCheck", "public.verify")
APPEAL_FILINGS = ("my_record.MyAppeals", "my_record.MyCorrections")

RULES: tuple[Rule, ...] = (
    Rule(
        "tipoff-address",
        TIPOFF,
        lambda s: f"{s.tipoff_per_address_hour} per hour",
        client_address,
        "Too many reports from this address; try again in an hour or call.",
    ),
    Rule(
        "tipoff-all",
        TIPOFF,
        lambda s: f"{s.tipoff_per_minute} per minute",
        everyone,
        "Too many reports are arriving right now; try again in a minute or call.",
    ),
    # enough for an office checking a pile of receipts, too few to guess codes (60 bits)
    Rule(
        "receipt-address",
        RECEIPT_CHECKS,
        lambda s: f"{s.receipt_checks_per_address_minute} per minute",
        client_address,
        "Too many receipt checks from here; wait a minute.",
        methods=("GET",),
        only_when=has_receipt_code,
    ),
    Rule(
        "receipt-all",
        RECEIPT_CHECKS,
        lambda s: f"{s.receipt_checks_per_minute} per minute",
        everyone,
        "Too many receipt checks right now; wait a minute.",
        methods=("GET",),
        only_when=has_receipt_code,
    ),
    # a cap on the bill a flood of sign-in codes can run up (per phone: CodePolicy)
    Rule(
        "sms-codes",
        ("auth.SmsCode",),
        lambda s: f"{s.sms_per_minute} per minute",
        everyone,
        "Too many codes are being sent right now; please try again in a minute.",
    ),
    Rule(
        "appeal-filings",
        APPEAL_FILINGS,
        lambda s: "10 per day",
        account,
        "Too many appeals and corrections today; please call 12333 or visit a service point.",
    ),
    Rule(
        "binding-requests",
        ("family.Bindings",),
        lambda s: "10 per day",
        account,
        "Too many requests to help someone today; please try again tomorrow.",
    ),
)


class RateLimits(Limiter):
    """Flask-Limiter's limiter; ``reset`` also works before it is bound to an app."""

    def reset(self) -> None:
        if self._storage is not None:
            super().reset()


def make_limiter(settings: Settings) -> Limiter:
    return RateLimits(
        key_func=client_address,
        storage_uri=settings.shared_redis_url or "memory://",
        strategy="moving-window",
        key_prefix="lifecert",
        in_memory_fallback_enabled=True,
        swallow_errors=True,  # a storage failure is logged; the request is not refused
        headers_enabled=False,
    )


def install(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Bind the limiter to the app and put each rule on its endpoints (after every
    blueprint is registered). An endpoint the table names must exist: a renamed view would
    otherwise lose its limit silently."""
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    limited = sorted({e for r in RULES for e in r.endpoints})
    missing = [e for e in limited if e not in app.view_functions]
    if missing:
        raise RuntimeError(f"rate limits name endpoints that do not exist: {missing}")
    for endpoint in limited:
        view: Any = app.view_functions[endpoint]
        for rule in (r for r in RULES if endpoint in r.endpoints):
            view = limiter.shared_limit(
                rule.rate(settings),
                scope=rule.scope,
                key_func=rule.per,
                methods=list(rule.methods),
                error_message=rule.message,
                exempt_when=_not(rule.only_when) if rule.only_when else None,
            )(view)
        app.view_functions[endpoint] = view
    app.register_error_handler(RateLimitExceeded, too_many)


def _not(test: Callable[[], bool]) -> Callable[[], bool]:
    return lambda: not test()


def retry_after(app: Flask) -> int:
    """Seconds until the breached limit lets a request through again."""
    limiter: Limiter = app.extensions[EXTENSION]
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, int(current.reset_at - time.time()))


def too_many(err: RateLimitExceeded) -> ResponseReturnValue:
    """The API's answer: 429 with the rule's message, ``retry_after`` and Retry-After."""
    from flask import current_app

    from api.errors import handle_domain_error

    message = err.description or "Too many requests; please try again later."
    return handle_domain_error(TooManyRequests(message, retry_after=retry_after(current_app)))
