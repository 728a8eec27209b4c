"""Signing in: a code by text message for the app and the capture page; a password, growing
delays and a second factor for staff.

- Text-message codes: 6 digits, 5 minutes, 5 tries; a new code for a phone at most once a
  minute and 5 times an hour, and 20 an hour from one address. Only keyed hashes of the phone
  and of the code are stored. The answers are the same whether the phone has an account or
  not: a code is simply sent.
- Staff passwords: no lock a stranger could put on someone's account. Wrong passwords make
  the *next* try wait, growing with the failures from that address for that account (up to
  5 minutes) and, far more gently, with the failures on the account from everywhere (up to 30
  seconds): a stranger slows himself down, not the clerk at her desk.
- Staff second factor: a time-based one-time code (RFC 6238) from an authenticator app, each
  code usable once; required in production (China's MLPS level 3 practice for systems holding
  personal data), enrolled in the console.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from certification.errors import (
    AuthenticationFailed,
    RuleViolation,
    ServiceUnavailable,
    TooManyRequests,
    ValidationFailed,
)
from certification.model import Account, OneTimeCode
from certification.ports import SmsSender, SmsUnavailable, VerifiedIdentity
from certification.services.context import UseCaseContext

SMS_PROVIDER = "sms"  # the provider name of identities proven by a text-message code
_MOBILE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


@dataclass(frozen=True, slots=True)
class CodePolicy:
    ttl: timedelta = timedelta(minutes=5)
    max_tries: int = 5
    resend_after: timedelta = timedelta(seconds=60)
    per_phone_per_hour: int = 5
    per_address_per_hour: int = 20


def normalise_mobile(raw: str) -> str:
    """A mainland mobile number as 11 digits (spaces, dashes and +86 allowed)."""
    digits = re.sub(r"[\s-]", "", raw or "")
    match = _MOBILE.match(digits)
    if not match:
        raise ValidationFailed(
            "Enter an 11-digit mobile phone number (mainland China).", field="phone"
        )
    return match.group(1)


def _hash(key: str, *parts: str) -> str:
    return hmac.new(key.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SentCode:
    resend_after_s: int
    expires_in_s: int


def send_sign_in_code(
    ctx: UseCaseContext,
    sms: SmsSender,
    policy: CodePolicy,
    *,
    phone: str,
    origin: str | None,
    key: str,
) -> SentCode:
    phone = normalise_mobile(phone)
    phone_hash = _hash(key, "phone", phone)
    now = ctx.clock.now()
    latest = ctx.uow.codes.latest_for(phone_hash)
    waiting = latest is not None and latest.used_at is None  # a used code does not hold back
    if waiting and latest is not None and latest.created_at > now - policy.resend_after:
        wait = int((latest.created_at + policy.resend_after - now).total_seconds()) + 1
        raise TooManyRequests(
            f"A code was sent a moment ago; you can ask for another in {wait} seconds.",
            retry_after=wait,
        )
    hour = now - timedelta(hours=1)
    if ctx.uow.codes.count_since(phone_hash=phone_hash, since=hour) >= policy.per_phone_per_hour:
        raise TooManyRequests(
            "Too many codes for this phone in the last hour; please try again later.",
            retry_after=3600,
        )
    if (
        origin is not None
        and ctx.uow.codes.count_since(origin=origin, since=hour) >= policy.per_address_per_hour
    ):
        raise TooManyRequests(
            "Too many codes asked from this network; please try again later.", retry_after=3600
        )
    code = f"{secrets.randbelow(10**6):06d}"
    record = OneTimeCode(
        phone_hash=phone_hash,
        code_hash=_hash(key, "code", phone, code),
        expires_at=now + policy.ttl,
        origin=origin,
        created_at=now,
    )
    ctx.uow.codes.add(record)
    ctx.uow.commit()  # counted even if the provider then fails: a flood is a flood
    try:
        sms.send_code(phone, code)
    except SmsUnavailable as err:
        record.used_at = now  # never valid
        ctx.uow.commit()
        raise ServiceUnavailable(
            "The text message could not be sent right now; please try again in a minute."
        ) from err
    return SentCode(int(policy.resend_after.total_seconds()), int(policy.ttl.total_seconds()))


def sign_in_with_code(
    ctx: UseCaseContext, policy: CodePolicy, *, phone: str, code: str, key: str
) -> VerifiedIdentity:
    """The phone proven by its code: an identity whose phone number is verified."""
    phone = normalise_mobile(phone)
    refused = AuthenticationFailed("The code is wrong or has expired; ask for a new one.")
    if not re.fullmatch(r"\d{6}", (code or "").strip()):
        raise refused
    now = ctx.clock.now()
    latest = ctx.uow.codes.latest_for(_hash(key, "phone", phone))
    if (
        latest is None
        or latest.used_at is not None
        or latest.expires_at <= now
        or latest.attempts >= policy.max_tries
    ):
        raise refused
    latest.attempts += 1
    if not hmac.compare_digest(latest.code_hash, _hash(key, "code", phone, code.strip())):
        ctx.uow.commit()
        raise refused
    latest.used_at = now
    ctx.uow.commit()
    return VerifiedIdentity(provider=SMS_PROVIDER, subject=phone, phone=phone)


# --- staff: growing delays ----------------------------------------------------------------


class FailureCounter(Protocol):
    """Counts failures per key in a sliding hour (shared by every process in production)."""

    def failures(self, key: str, now: float) -> tuple[int, float]:
        """(failures in the hour before ``now``, epoch seconds of the last one; 0 if none)."""
        ...

    def record(self, key: str, now: float) -> None: ...

    def clear(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class DelayPolicy:
    free: int  # failures allowed before any wait
    cap_s: int  # the longest wait

    def wait_s(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(self.cap_s, 2 ** (failures - self.free)))


FROM_ADDRESS = DelayPolicy(free=3, cap_s=300)  # one address guessing one account
ON_ACCOUNT = DelayPolicy(free=10, cap_s=30)  # the account, from everywhere: gently
FROM_ANYWHERE = DelayPolicy(free=20, cap_s=300)  # one address trying many accounts


def _keys(username: str, origin: str | None) -> list[tuple[str, DelayPolicy]]:
    where = origin or "unknown"
    return [
        (f"login:{username}:{where}", FROM_ADDRESS),
        (f"login:{username}", ON_ACCOUNT),
        (f"login-from:{where}", FROM_ANYWHERE),
    ]


def login_wait(counter: FailureCounter, username: str, origin: str | None, now: float) -> int:
    """Seconds before this address may try this account's password again (0: now)."""
    wait = 0.0
    for key, policy in _keys(username, origin):
        count, last = counter.failures(key, now)
        if count:
            wait = max(wait, last + policy.wait_s(count) - now)
    return max(0, int(wait + 0.999))


def refuse_while_waiting(
    counter: FailureCounter, username: str, origin: str | None, now: datetime
) -> None:
    wait = login_wait(counter, username, origin, now.timestamp())
    if wait:
        raise TooManyRequests(
            f"Too many wrong sign-in attempts from here; wait {wait} seconds before trying again.",
            retry_after=wait,
        )


def use_once(ctx: UseCaseContext, token_id: str) -> None:
    """Mark a one-time token (a registration step) used, committed at once: a second use is
    refused whether the first one then succeeded or not."""
    if not ctx.uow.used_tokens.use(token_id, ctx.clock.now()):
        raise AuthenticationFailed(
            "This registration step was already used; please sign in from the start again."
        )
    ctx.uow.commit()


def record_login_failure(
    counter: FailureCounter, username: str, origin: str | None, now: datetime
) -> None:
    for key, _ in _keys(username, origin):
        counter.record(key, now.timestamp())


def clear_login_failures(counter: FailureCounter, username: str, origin: str | None) -> None:
    for key, _ in _keys(username, origin)[:2]:
        counter.clear(key)


# --- staff: the second factor ---------------------------------------------------------------


class TotpPort(Protocol):
    """RFC 6238 codes (an authenticator app)."""

    def new_secret(self) -> str: ...

    def uri(self, secret: str, account_name: str) -> str:
        """The ``otpauth://`` address an authenticator app scans."""
        ...

    def step_of(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step the code belongs to (one step either side allowed), or None."""
        ...


def check_second_factor(
    ctx: UseCaseContext, totp: TotpPort, account: Account, code: str | None
) -> None:
    """A confirmed second factor's code, each usable once. Raises AuthenticationFailed."""
    if account.totp_secret is None or account.totp_confirmed_at is None:
        raise RuleViolation("No second factor is set up for this account.")
    if not code:
        raise AuthenticationFailed(
            "Enter the 6-digit code from your authenticator app.", field="otp"
        )
    step = totp.step_of(account.totp_secret, code.strip(), ctx.clock.now())
    if step is None or not ctx.uow.used_tokens.use(f"totp:{account.id}:{step}", ctx.clock.now()):
        raise AuthenticationFailed(
            "The code from the authenticator app is wrong or was already used.", field="otp"
        )
