"""Sign-in for staff and operators (password) and for the mobile app / mini-program."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import ALGORITHM, client_origin, current_actor, issue_access_token
from api.context import ctx, runtime
from api.schemas import (
    MeSchema,
    MobileLoginResultSchema,
    MobileLoginSchema,
    MobileRegisterSchema,
    PasswordLoginSchema,
    RefreshSchema,
    TokenSchema,
)
from certification.errors import AuthenticationFailed, ValidationFailed
from certification.model import Account
from certification.ports import VerifiedIdentity
from certification.services import accounts
from certification.vocabulary import AccountKind

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/auth",
    description="Sign-in: password for staff and operators; the app or WeChat mini-program "
    "login code for beneficiaries and family members.",
)

REGISTRATION_AUDIENCE = "lifecert-registration"
REGISTRATION_MINUTES = 10


def _refresh_ttl(account: Account) -> timedelta:
    settings = runtime().settings
    if account.kind in (AccountKind.STAFF, AccountKind.OPERATOR):
        return timedelta(hours=settings.staff_refresh_token_hours)
    return timedelta(days=settings.refresh_token_days)


def _tokens(account: Account) -> dict[str, Any]:
    return _token_body(account, accounts.start_session(ctx(), account, _refresh_ttl(account)))


def _token_body(account: Account, refresh: accounts.IssuedRefreshToken) -> dict[str, Any]:
    access, expires_in = issue_access_token(account)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "refresh_token": refresh.token,
        "refresh_expires_at": refresh.expires_at,
        "account": account,
    }


@blp.route("/login")
class PasswordLogin(MethodView):
    @blp.doc(security=[])
    @blp.arguments(PasswordLoginSchema)
    @blp.response(200, TokenSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Staff or operator sign-in with username and password.

        Five wrong passwords lock the account for 15 minutes.
        """
        account = accounts.authenticate_password(
            ctx(), runtime().passwords, origin=client_origin(), **data
        )
        return _tokens(account)


def _registration_token(identity: VerifiedIdentity) -> str:
    rt = runtime()
    now = rt.clock.now()
    claims = {
        "iss": rt.settings.token_issuer,
        "aud": REGISTRATION_AUDIENCE,
        "sub": identity.subject,
        "provider": identity.provider,
        "phone": identity.phone,
        "iat": now,
        "exp": now + timedelta(minutes=REGISTRATION_MINUTES),
    }
    return jwt.encode(claims, rt.settings.signing_key(), algorithm=ALGORITHM)


def _identity_from_registration(token: str) -> VerifiedIdentity:
    rt = runtime()
    try:
        claims = jwt.decode(
            token,
            rt.settings.signing_key(),
            algorithms=[ALGORITHM],
            audience=REGISTRATION_AUDIENCE,
            issuer=rt.settings.token_issuer,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.InvalidTokenError as err:
        raise AuthenticationFailed(
            "The registration step has expired; please log in from the app again."
        ) from err
    return VerifiedIdentity(
        provider=str(claims["provider"]), subject=str(claims["sub"]), phone=claims.get("phone")
    )


@blp.route("/mobile/login")
class MobileLogin(MethodView):
    @blp.doc(security=[])
    @blp.arguments(MobileLoginSchema)
    @blp.response(200, MobileLoginResultSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """App or mini-program sign-in with the one-time code from the identity provider.

        A first-time user gets ``registered: false`` and a registration token to
        send to /api/auth/mobile/register with their citizen ID and name.
        """
        provider = runtime().identity_providers.get(data["provider"])
        if provider is None:
            available = ", ".join(sorted(runtime().identity_providers)) or "none"
            raise ValidationFailed(
                f"Unknown login provider {data['provider']!r}; available: {available}.",
                field="provider",
            )
        identity = provider.exchange(data["code"])
        account = accounts.find_mobile_account(ctx(), identity)
        if account is None:
            return {"registered": False, "registration_token": _registration_token(identity)}
        return {"registered": True, "tokens": _tokens(account)}


@blp.route("/mobile/register")
class MobileRegister(MethodView):
    @blp.doc(security=[])
    @blp.arguments(MobileRegisterSchema)
    @blp.response(201, TokenSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """First sign-in: claim a beneficiary record, or register as a family member.

        If the citizen ID belongs to a person receiving benefits (and the name
        matches), the account is that beneficiary's; otherwise it is a family
        member's own account.
        """
        identity = _identity_from_registration(data.pop("registration_token"))
        account = accounts.register_mobile(ctx(), identity, origin=client_origin(), **data)
        return _tokens(account)


@blp.route("/refresh")
class Refresh(MethodView):
    @blp.doc(security=[])
    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Exchange a refresh token for new tokens (the old refresh token stops working)."""
        account, refresh = accounts.rotate_refresh_token(ctx(), data["refresh_token"], _refresh_ttl)
        return _token_body(account, refresh)


@blp.route("/logout")
class Logout(MethodView):
    @blp.response(204)
    def post(self) -> None:
        """End every session of the signed-in account."""
        accounts.sign_out(ctx(), current_actor())


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self) -> Any:
        """The signed-in account."""
        actor = current_actor()
        assert actor.account_id is not None
        account = accounts.load_active_account(ctx(), actor.account_id)
        return {"account": account, "scope": actor.scope_code}
