"""Accounts and sign-in: staff and operators by password, beneficiaries and family by a mobile
identity provider (the app, or the WeChat mini-program's login code)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from certification import access
from certification.access import Actor
from certification.citizen_id import CitizenId
from certification.claims import Claim, ClaimLimits, target_hash
from certification.errors import (
    AlreadyExists,
    AuthenticationFailed,
    RuleViolation,
    TooManyRequests,
    ValidationFailed,
)
from certification.model import Account, ExternalIdentity, RefreshToken
from certification.ports import Page, PageRequest, PasswordHasher, VerifiedIdentity
from certification.privacy import mask_name
from certification.regions import RegionLevel, level_of
from certification.services import signin
from certification.services.context import UseCaseContext
from certification.services.persons import normalise_name, normalise_phone
from certification.services.records import found
from certification.vocabulary import AccountKind, StaffRole

MIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def actor_for(account: Account, origin: str | None) -> Actor:
    return Actor(
        kind=account.kind.value,
        account_id=account.id,
        # what the audit trail and the logs name the actor by: staff by their login, an app
        # account (named after a person) by the masked name only
        label=account.username or mask_name(account.display_name) or "",
        roles=frozenset(account.roles),
        scope_code=account.region_code,
        person_id=account.person_id,
        origin=origin,
        identity_verified=account.identity_verified,
    )


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters.", field="password"
        )
    if password.isdigit() or password.isalpha():
        raise ValidationFailed("Mix letters and digits in the password.", field="password")


def create_staff(
    ctx: UseCaseContext,
    actor: Actor,
    passwords: PasswordHasher,
    *,
    kind: AccountKind,
    username: str,
    display_name: str,
    password: str,
    region_code: str | None,
    roles: list[str],
) -> Account:
    """Operators create staff and operator accounts."""
    access.require_operator(actor, "create accounts")
    if kind not in (AccountKind.STAFF, AccountKind.OPERATOR):
        raise ValidationFailed("Only staff and operator accounts are created here.", field="kind")
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ValidationFailed(
            "A username has 3-64 lower-case letters, digits, dots, dashes or underscores.",
            field="username",
        )
    _check_password(password)
    clean_roles: list[str] = []
    if kind is AccountKind.STAFF:
        if region_code is None:
            raise ValidationFailed("Staff need a region scope.", field="region_code")
        if level_of(region_code) is RegionLevel.VILLAGE:
            raise ValidationFailed(
                "Staff scopes are the city, a district/county or a township/street.",
                field="region_code",
            )
        if (
            level_of(region_code) is RegionLevel.TOWNSHIP
            and ctx.uow.regions.get(region_code) is None
        ):
            raise ValidationFailed(
                f"Township {region_code} is not registered.", field="region_code"
            )
        try:
            clean_roles = sorted({StaffRole(r).value for r in roles})
        except ValueError as err:
            raise ValidationFailed(
                "Roles are: " + ", ".join(r.value for r in StaffRole), field="roles"
            ) from err
        if not clean_roles:
            raise ValidationFailed("Give the staff member at least one role.", field="roles")
    elif region_code is not None or roles:
        raise ValidationFailed("Operators have no region scope or staff roles.", field="roles")
    if ctx.uow.accounts.by_username(username) is not None:
        raise AlreadyExists(f"The username {username} is taken.", field="username")
    account = Account(
        kind=kind,
        display_name=normalise_name(display_name),
        username=username,
        password_hash=passwords.hash(password),
        region_code=region_code,
        roles=clean_roles,
        identity_verified=True,
    )
    ctx.uow.accounts.add(account)
    ctx.audit(
        actor,
        "account.created",
        "account",
        account.id,
        kind=kind.value,
        username=username,
        region_code=region_code,
        roles=clean_roles,
    )
    ctx.uow.commit()
    return account


def authenticate_password(
    ctx: UseCaseContext,
    passwords: PasswordHasher,
    failures: signin.FailureCounter,
    *,
    username: str,
    password: str,
    origin: str | None,
) -> Account:
    """The password step (the sign-in ends with finish_sign_in). A wrong password makes the
    next try from that address wait (growing delays, signin.login_wait); nothing a stranger
    does locks the account for its owner."""
    failure = AuthenticationFailed("The username or password is wrong.")
    username = username.strip().lower()
    signin.refuse_while_waiting(failures, username, origin, ctx.clock.now())
    account = ctx.uow.accounts.by_username(username)
    if account is None or account.password_hash is None:
        passwords.verify(_DUMMY_HASH.get(passwords), password)  # same time as a real check
        signin.record_login_failure(failures, username, origin, ctx.clock.now())
        raise failure
    if not account.active:
        raise AuthenticationFailed("This account is disabled; ask an operator.")
    if not passwords.verify(account.password_hash, password):
        signin.record_login_failure(failures, username, origin, ctx.clock.now())
        ctx.audit(actor_for(account, origin), "auth.password_failed", "account", account.id)
        ctx.uow.commit()
        raise failure
    return account


def needs_second_factor_enrolment(account: Account, *, required: bool) -> bool:
    """Staff who must use a second factor and have not set one up yet (the console's
    enrolment page is the only thing they can reach)."""
    return (
        required
        and account.kind in (AccountKind.STAFF, AccountKind.OPERATOR)
        and account.totp_confirmed_at is None
    )


def finish_sign_in(
    ctx: UseCaseContext,
    totp: signin.TotpPort,
    failures: signin.FailureCounter,
    account: Account,
    *,
    otp: str | None,
    origin: str | None,
    second_factor_required: bool,
) -> None:
    """After the password: the second factor when the account has one (or must), then the
    account is signed in (audited). A wrong code counts like a wrong password."""
    username = account.username or str(account.id)
    if needs_second_factor_enrolment(account, required=second_factor_required):
        raise RuleViolation(
            "Set up the second factor first: sign in to the staff console (/console/), which "
            "shows how.",
            details={"reason": "second_factor_not_set_up"},
        )
    if account.totp_confirmed_at is not None:
        signin.refuse_while_waiting(failures, username, origin, ctx.clock.now())
        try:
            signin.check_second_factor(ctx, totp, account, otp)
        except AuthenticationFailed:
            signin.record_login_failure(failures, username, origin, ctx.clock.now())
            ctx.audit(
                actor_for(account, origin), "auth.second_factor_failed", "account", account.id
            )
            ctx.uow.commit()
            raise
    signin.clear_login_failures(failures, username, origin)
    ctx.audit(actor_for(account, origin), "auth.signed_in", "account", account.id)
    ctx.uow.commit()


def start_second_factor(ctx: UseCaseContext, totp: signin.TotpPort, account: Account) -> str:
    """A new secret for the authenticator app (not in force until a first code confirms it);
    returns the ``otpauth://`` address to show as a QR code."""
    if account.totp_confirmed_at is not None:
        raise RuleViolation(
            "A second factor is already set up; an operator resets it if the phone was lost."
        )
    account.totp_secret = totp.new_secret()
    ctx.uow.commit()
    return totp.uri(account.totp_secret, account.username or account.display_name)


def confirm_second_factor(
    ctx: UseCaseContext, totp: signin.TotpPort, account: Account, code: str, origin: str | None
) -> None:
    if account.totp_secret is None or account.totp_confirmed_at is not None:
        raise RuleViolation("Start the set-up again: no second factor is waiting for a code.")
    step = totp.step_of(account.totp_secret, code.strip(), ctx.clock.now())
    if step is None:
        raise ValidationFailed(
            "The code does not match; check the phone's clock and enter the newest code.",
            field="otp",
        )
    ctx.uow.used_tokens.use(f"totp:{account.id}:{step}", ctx.clock.now())
    account.totp_confirmed_at = ctx.clock.now()
    ctx.audit(actor_for(account, origin), "auth.second_factor_enrolled", "account", account.id)
    ctx.uow.commit()


def reset_second_factor(
    ctx: UseCaseContext, actor: Actor, account_id: UUID, *, reason: str
) -> Account:
    """An operator clears a lost second factor; the account's sessions end and it sets up a
    new one at its next sign-in."""
    access.require_operator(actor, "reset a second factor")
    account = found(ctx.uow.accounts.get(account_id), "account", account_id)
    account.totp_secret = None
    account.totp_confirmed_at = None
    end_sessions(ctx, account)
    ctx.audit(actor, "auth.second_factor_reset", "account", account.id, reason=reason)
    ctx.uow.commit()
    return account


class _DummyHashes:
    """A real hash of a random password, per hasher, to spend the same time on unknown users."""

    def __init__(self) -> None:
        self._by_hasher: dict[int, str] = {}

    def get(self, passwords: PasswordHasher) -> str:
        key = id(passwords)
        if key not in self._by_hasher:
            self._by_hasher[key] = passwords.hash(secrets.token_urlsafe(16))
        return self._by_hasher[key]


_DUMMY_HASH = _DummyHashes()


def find_mobile_account(ctx: UseCaseContext, identity: VerifiedIdentity) -> Account | None:
    account = ctx.uow.accounts.by_external(identity.provider, identity.subject)
    if account is not None and not account.active:
        raise AuthenticationFailed("This account is disabled; please visit a service point.")
    return account


def register_mobile(
    ctx: UseCaseContext,
    identity: VerifiedIdentity,
    *,
    citizen_id: str,
    name: str,
    phone: str | None,
    origin: str | None,
    key: str,
    limits: ClaimLimits,
) -> Account:
    """First sign-in from the app: an account of one's own, and a claim on the record of the
    citizen ID given (decision 0013).

    The answer is the same whether the ID is unknown, the name differs or both match: the
    claim waits for a face check against the enrolled photo (or a counter clerk) either way,
    and never blocks anyone else's claim on the same person.
    """
    if ctx.uow.accounts.by_external(identity.provider, identity.subject) is not None:
        raise AlreadyExists("This phone login is already registered; sign in instead.")
    cid = CitizenId.parse(citizen_id, today=ctx.clock.today())
    name = normalise_name(name)
    now = ctx.clock.now()
    target = target_hash(cid.value, key)
    if (
        origin is not None
        and ctx.uow.claims.count_since(origin=origin, since=now - timedelta(hours=1))
        >= limits.per_address_per_hour
    ):
        raise TooManyRequests(
            "Too many registrations from this network; please try again later.",
            retry_after=3600,
        )
    if (
        ctx.uow.claims.count_since(target_hash=target, since=now - timedelta(days=1))
        >= limits.per_target_per_day
    ):
        raise TooManyRequests(
            "This citizen ID number was registered too often today; please try again "
            "tomorrow or visit a service point.",
            retry_after=86400,
        )
    person = ctx.uow.persons.by_citizen_id(cid.value)
    matched = person if person is not None and person.name == name else None
    account = Account(
        kind=AccountKind.FAMILY,
        display_name=name,
        citizen_id=cid.value,
        phone=identity.phone or normalise_phone(phone),
        identity_verified=False,
    )
    ctx.uow.accounts.add(account)
    ctx.uow.accounts.add_external(
        ExternalIdentity(
            provider=identity.provider, subject=identity.subject, account_id=account.id
        )
    )
    ctx.uow.flush()  # the account before the claim that refers to it
    claim = Claim(
        account_id=account.id,
        target_hash=target,
        person_id=matched.id if matched is not None else None,
        origin=origin,
        created_at=now,
    )
    ctx.uow.claims.add(claim)
    ctx.audit(
        actor_for(account, origin),
        "account.registered",
        "account",
        account.id,
        provider=identity.provider,
        claim_id=str(claim.id),
        claim_matches=matched is not None,
    )
    ctx.uow.commit()
    return account


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedRefreshToken:
    token: str
    expires_at: datetime


def issue_refresh_token(
    ctx: UseCaseContext, account: Account, ttl: timedelta
) -> IssuedRefreshToken:
    """A long-lived opaque token; only its hash is stored. Does not commit."""
    token = secrets.token_urlsafe(32)
    expires_at = ctx.clock.now() + ttl
    ctx.uow.refresh_tokens.add(
        RefreshToken(account_id=account.id, token_hash=_token_hash(token), expires_at=expires_at)
    )
    return IssuedRefreshToken(token, expires_at)


def start_session(ctx: UseCaseContext, account: Account, ttl: timedelta) -> IssuedRefreshToken:
    issued = issue_refresh_token(ctx, account, ttl)
    ctx.uow.commit()
    return issued


def rotate_refresh_token(
    ctx: UseCaseContext, token: str, ttl_for: Callable[[Account], timedelta]
) -> tuple[Account, IssuedRefreshToken]:
    """Exchange a refresh token for a new one. A token used twice revokes the whole family."""
    stored = ctx.uow.refresh_tokens.by_hash(_token_hash(token))
    now = ctx.clock.now()
    refused = AuthenticationFailed("The session has expired; please sign in again.")
    if stored is None:
        raise refused
    if stored.revoked_at is not None:
        # Reuse of a rotated token: someone copied it. End every session of the account.
        reused = ctx.uow.accounts.get(stored.account_id)
        if reused is not None:
            end_sessions(ctx, reused)
        else:
            ctx.uow.refresh_tokens.revoke_all(stored.account_id, now)
        ctx.audit(Actor.system("auth"), "auth.refresh_reused", "account", stored.account_id)
        ctx.uow.commit()
        raise refused
    if stored.expires_at <= now:
        raise refused
    account = ctx.uow.accounts.get(stored.account_id)
    if account is None or not account.active:
        raise refused
    stored.revoked_at = now
    issued = issue_refresh_token(ctx, account, ttl_for(account))
    ctx.uow.commit()
    return account, issued


def end_sessions(ctx: UseCaseContext, account: Account) -> None:
    """Every session of the account ends now: refresh tokens revoked, access tokens issued
    before this moment refused (api/auth.py), console sessions gone. Does not commit."""
    now = ctx.clock.now()
    ctx.uow.refresh_tokens.revoke_all(account.id, now)
    ctx.uow.console_sessions.end_all(account.id)
    account.tokens_valid_after = now


def sign_out(ctx: UseCaseContext, actor: Actor) -> None:
    if actor.account_id is None:
        return
    account = ctx.uow.accounts.get(actor.account_id)
    if account is not None:
        end_sessions(ctx, account)
    ctx.audit(actor, "auth.signed_out", "account", actor.account_id)
    ctx.uow.commit()


def open_console_session(
    ctx: UseCaseContext, account: Account, session_id_hash: str, ttl: timedelta
) -> None:
    now = ctx.clock.now()
    ctx.uow.console_sessions.add(session_id_hash, account.id, now, now + ttl)
    ctx.uow.commit()


def console_session_account(ctx: UseCaseContext, session_id_hash: str) -> Account | None:
    """The active staff account of a live console session, or None."""
    account_id = ctx.uow.console_sessions.account_for(session_id_hash, ctx.clock.now())
    if account_id is None:
        return None
    account = ctx.uow.accounts.get(account_id)
    if account is None or not account.active:
        return None
    return account


def end_console_session(ctx: UseCaseContext, actor: Actor, session_id_hash: str) -> None:
    ctx.uow.console_sessions.end(session_id_hash)
    ctx.audit(actor, "auth.signed_out", "account", actor.account_id, channel="console")
    ctx.uow.commit()


def load_active_account(ctx: UseCaseContext, account_id: UUID) -> Account:
    account = ctx.uow.accounts.get(account_id)
    if account is None or not account.active:
        raise AuthenticationFailed("This account no longer exists or is disabled.")
    return account


def set_account_active(
    ctx: UseCaseContext, actor: Actor, account_id: UUID, *, active: bool, reason: str
) -> Account:
    access.require_operator(actor, "enable or disable accounts")
    account = found(ctx.uow.accounts.get(account_id), "account", account_id)
    if account.id == actor.account_id and not active:
        raise RuleViolation("You cannot disable your own account.")
    account.active = active
    if not active:
        end_sessions(ctx, account)
    ctx.audit(
        actor,
        "account.enabled" if active else "account.disabled",
        "account",
        account.id,
        reason=reason,
    )
    ctx.uow.commit()
    return account


def list_accounts(ctx: UseCaseContext, actor: Actor, page: PageRequest) -> Page[Account]:
    access.require_operator(actor, "list accounts")
    return ctx.uow.accounts.find(page)
