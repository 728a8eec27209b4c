"""Bearer tokens (JWT, HS256, PyJWT) for every kind of account.

Access tokens are short-lived and name the account; each request reloads the
account so a disabled account or a changed scope takes effect at once, and a token issued
before the account's ``tokens_valid_after`` (set by sign-out, disablement and the reuse of a
rotated refresh token, certification.services.accounts.end_sessions) is refused at once.
Refresh tokens are opaque, stored hashed and rotated (certification.services.accounts).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from flask import g, request

from api.context import ctx, runtime
from certification.access import Actor
from certification.errors import AuthenticationFailed
from certification.model import Account
from certification.services import accounts as account_service

AUDIENCE = "lifecert-api"
ALGORITHM = "HS256"


def issue_access_token(account: Account) -> tuple[str, int]:
    settings = runtime().settings
    now = runtime().clock.now()
    ttl = timedelta(minutes=settings.access_token_minutes)
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "aud": AUDIENCE,
        "sub": str(account.id),
        "kind": account.kind.value,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "iat_ms": int(now.timestamp() * 1000),  # iat has whole seconds; sign-out needs better
    }
    token = jwt.encode(claims, settings.signing_key(), algorithm=ALGORITHM)
    return token, int(ttl.total_seconds())


def _decode(token: str) -> dict[str, Any]:
    settings = runtime().settings
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=settings.token_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            leeway=10,
        )
    except jwt.ExpiredSignatureError as err:
        raise AuthenticationFailed(
            "Your sign-in has expired; refresh it or sign in again."
        ) from err
    except jwt.InvalidTokenError as err:
        raise AuthenticationFailed("The access token is not valid; please sign in.") from err
    return claims


def client_origin() -> str | None:
    return request.remote_addr


def _account_for(claims: dict[str, Any]) -> Account:
    """The token's account, if it is active and the token was issued after its last
    sign-out."""
    try:
        account_id = uuid.UUID(str(claims["sub"]))
        issued_ms = int(claims.get("iat_ms", int(claims["iat"]) * 1000))
    except (ValueError, TypeError) as err:
        raise AuthenticationFailed("The access token is not valid; please sign in.") from err
    account = account_service.load_active_account(ctx(), account_id)
    cutoff = account.tokens_valid_after
    if cutoff is not None and issued_ms < int(cutoff.timestamp() * 1000):
        raise AuthenticationFailed("You were signed out; please sign in again.")
    return account


def optional_actor() -> Actor | None:
    """The signed-in actor, or None when the request carries no valid token."""
    if "_actor" in g:
        actor: Actor | None = g._actor
        return actor
    header = request.headers.get("Authorization", "")
    actor = None
    if header.lower().startswith("bearer "):
        try:
            account = _account_for(_decode(header[7:].strip()))
            actor = account_service.actor_for(account, client_origin())
        except (AuthenticationFailed, ValueError):
            actor = None
    g._actor = actor
    return actor


def current_actor() -> Actor:
    """The signed-in actor; 401 with a reason otherwise."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise AuthenticationFailed("Sign in first: send 'Authorization: Bearer <access token>'.")
    if "_actor" in g and g._actor is not None:
        actor: Actor = g._actor
        return actor
    account = _account_for(_decode(header[7:].strip()))
    actor = account_service.actor_for(account, client_origin())
    g._actor = actor
    return actor
