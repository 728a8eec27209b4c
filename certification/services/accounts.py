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
from certification.errors import (
    AlreadyExists,
    AuthenticationFailed,
    NotFound,
    RuleViolation,
    ValidationFailed,
)
from certification.model import Account, ExternalIdentity, RefreshToken
from certification.ports import Page, PageRequest, PasswordHasher, VerifiedIdentity
from certification.regions import RegionLevel, level_of
from certification.services.context import UseCaseContext
from certification.services.persons import normalise_name, normalise_phone
from certification.vocabulary import AccountKind, StaffRole

MIN_PASSWORD_LENGTH = 12
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def actor_for(account: Account, origin: str | None) -> Actor:
    return Actor(
        kind=account.kind.value,
        account_id=account.id,
        label=account.username or account.display_name,
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
    *,
    username: str,
    password: str,
    origin: str | None,
) -> Account:
    failure = AuthenticationFailed("The username or password is wrong.")
    account = ctx.uow.accounts.by_username(username.strip().lower())
    now = ctx.clock.now()
    if account is None or account.password_hash is None:
        passwords.verify(_DUMMY_HASH.get(passwords), password)  # same time as a real check
        raise failure
    if not account.active:
        raise AuthenticationFailed("This account is disabled; ask an operator.")
    if account.locked_until is not None and account.locked_until > now:
        raise AuthenticationFailed(
            "Too many wrong passwords; this account is locked for a while. Try again later."
        )
    actor = actor_for(account, origin)
    if not passwords.verify(account.password_hash, password):
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILED_LOGINS:
            account.locked_until = now + LOCKOUT
            account.failed_logins = 0
        ctx.audit(actor, "auth.password_failed", "account", account.id)
        ctx.uow.commit()
        raise failure
    account.failed_logins = 0
    account.locked_until = None
    ctx.audit(actor, "auth.signed_in", "account", account.id)
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
) -> Account:
    """First sign-in from the app: a beneficiary claims their record, or a family member registers.

    A beneficiary's account is identity-verified at once only if the provider
    verified a phone number equal to the one on record; otherwise it starts
    unverified and a successful face certification verifies it.
    """
    if ctx.uow.accounts.by_external(identity.provider, identity.subject) is not None:
        raise AlreadyExists("This phone login is already registered; sign in instead.")
    cid = CitizenId.parse(citizen_id, today=ctx.clock.today())
    name = normalise_name(name)
    phone = normalise_phone(phone)
    person = ctx.uow.persons.by_citizen_id(cid.value)
    if person is not None:
        if person.name != name:
            raise ValidationFailed(
                "The name does not match the name registered with this citizen ID number.",
                field="name",
            )
        account = ctx.uow.accounts.beneficiary_for(person.id)
        phone_verified = identity.phone is not None and identity.phone == person.phone
        if account is not None and not phone_verified:
            raise RuleViolation(
                "An account already exists for this person. Sign in with the phone used before, "
                "or visit a service point to link this one."
            )
        if account is None:
            account = Account(
                kind=AccountKind.BENEFICIARY,
                display_name=person.name,
                person_id=person.id,
                phone=phone or person.phone,
                identity_verified=phone_verified,
            )
            ctx.uow.accounts.add(account)
    else:
        account = Account(
            kind=AccountKind.FAMILY,
            display_name=name,
            citizen_id=cid.value,
            phone=phone,
            identity_verified=identity.phone is not None and identity.phone == phone,
        )
        ctx.uow.accounts.add(account)
    ctx.uow.accounts.add_external(
        ExternalIdentity(
            provider=identity.provider, subject=identity.subject, account_id=account.id
        )
    )
    ctx.audit(
        actor_for(account, origin),
        "account.registered",
        "account",
        account.id,
        kind=account.kind.value,
        provider=identity.provider,
        identity_verified=account.identity_verified,
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


def sign_out(ctx: UseCaseContext, actor: Actor) -> None:
    if actor.account_id is None:
        return
    ctx.uow.refresh_tokens.revoke_all(actor.account_id, ctx.clock.now())
    ctx.audit(actor, "auth.signed_out", "account", actor.account_id)
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
    account = ctx.uow.accounts.get(account_id)
    if account is None:
        raise NotFound(f"No account with id {account_id}.")
    if account.id == actor.account_id and not active:
        raise RuleViolation("You cannot disable your own account.")
    account.active = active
    if not active:
        ctx.uow.refresh_tokens.revoke_all(account.id, ctx.clock.now())
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
