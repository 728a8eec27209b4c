"""Sign-in for staff and operators (password) and for the mobile app / mini-program."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import jwt
from flask.views import MethodView

from api.auth import ALGORITHM, client_origin, current_actor, issue_access_token
from api.blueprint import Blueprint
from api.context import ctx, runtime
from api.schemas import (
    MeSchema,
    MobileLoginResultSchema,
    MobileLoginSchema,
    MobileRegisterSchema,
    PasswordLoginSchema,
    RefreshSchema,
    SmsCodeRequestSchema,
    SmsCodeSentSchema,
    SmsLoginSchema,
    TokenSchema,
)
from certification.errors import AuthenticationFailed, ValidationFailed
from certification.model import Account
from certification.ports import VerifiedIdentity
from certification.services import accounts, claims, signin
from certification.vocabulary import AccountKind
from infra.sms import LoggingSms

blp = Blueprint(
    "auth",
    __name__,
    url_prefix="/api/auth",
    description="Sign-in: password (and an authenticator code) for staff and operators; a "
    "code by text message, or the WeChat mini-program login code, for beneficiaries and "
    "family members. A first sign-in registers an account and records a claim on the "
    "citizen ID given; the claim becomes the person's account only by a face check against "
    "the agency's photo or at a service point (decision 0013).",
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
        """Staff or operator sign-in with username, password and, with a second factor, the
        authenticator app's code.

        Wrong passwords never lock the account: each failure makes the next try from the
        same address wait longer (429 with Retry-After).
        """
        rt = runtime()
        account = accounts.authenticate_password(
            ctx(),
            rt.passwords,
            rt.login_failures,
            username=data["username"],
            password=data["password"],
            origin=client_origin(),
        )
        accounts.finish_sign_in(
            ctx(),
            rt.totp,
            rt.login_failures,
            account,
            otp=data["otp"],
            origin=client_origin(),
            second_factor_required=rt.settings.second_factor_required,
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
        "jti": uuid.uuid4().hex,
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
            options={"require": ["exp", "sub", "aud", "jti"]},
        )
    except jwt.InvalidTokenError as err:
        raise AuthenticationFailed(
            "The registration step has expired; please log in from the app again."
        ) from err
    signin.use_once(ctx(), f"registration:{claims['jti']}")
    return VerifiedIdentity(
        provider=str(claims["provider"]), subject=str(claims["sub"]), phone=claims.get("phone")
    )


def _signed_in(identity: VerifiedIdentity) -> dict[str, Any]:
    account = accounts.find_mobile_account(ctx(), identity)
    if account is None:
        return {"registered": False, "registration_token": _registration_token(identity)}
    return {"registered": True, "tokens": _tokens(account)}


@blp.route("/sms/code")
class SmsCode(MethodView):
    @blp.doc(security=[])
    @blp.arguments(SmsCodeRequestSchema)
    @blp.response(202, SmsCodeSentSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Send a 6-digit sign-in code to a mobile phone (valid 5 minutes, 5 tries).

        The answer is the same whether the phone has an account or not. A new code for the
        same phone at most once a minute and 5 times an hour; 20 an hour from one address.
        """
        rt = runtime()
        phone = signin.normalise_mobile(data["phone"])
        sent = signin.send_sign_in_code(
            ctx(),
            rt.sms,
            rt.code_policy,
            phone=phone,
            origin=client_origin(),
            key=rt.settings.identity_key(),
        )
        demo_code = None
        if rt.settings.demo and isinstance(rt.sms, LoggingSms):
            demo_code = rt.sms.last_code(phone)
        return {
            "resend_after_s": sent.resend_after_s,
            "expires_in_s": sent.expires_in_s,
            "demo_code": demo_code,
        }


@blp.route("/sms/login")
class SmsLogin(MethodView):
    @blp.doc(security=[])
    @blp.arguments(SmsLoginSchema)
    @blp.response(200, MobileLoginResultSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Sign in with the code received by text message.

        A first-time phone gets ``registered: false`` and a registration token (single use,
        10 minutes) for /api/auth/mobile/register.
        """
        rt = runtime()
        identity = signin.sign_in_with_code(
            ctx(),
            rt.code_policy,
            phone=data["phone"],
            code=data["code"],
            key=rt.settings.identity_key(),
        )
        return _signed_in(identity)


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
        return _signed_in(provider.exchange(data["code"]))


@blp.route("/mobile/register")
class MobileRegister(MethodView):
    @blp.doc(security=[])
    @blp.arguments(MobileRegisterSchema)
    @blp.response(201, TokenSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """First sign-in: an account of one's own, and a claim on the citizen ID given.

        The answer is the same whether the ID is unknown, the name differs or both match.
        The account can help bound family members at once; it becomes a beneficiary's own
        account only when its claim is confirmed by a face check against the agency's photo
        (POST /api/claims/check) or by a clerk at a service point. The registration token
        works once, whether the registration succeeds or not.
        """
        rt = runtime()
        identity = _identity_from_registration(data.pop("registration_token"))
        account = accounts.register_mobile(
            ctx(),
            identity,
            origin=client_origin(),
            key=rt.settings.identity_key(),
            limits=rt.selfservice.claim_limits,
            **data,
        )
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
        claim = claims.current_claim(ctx(), actor)
        claim_body = None
        if claim is not None:
            claim_body = {
                "id": claim.id,
                "status": claim.status.value,
                "created_at": claim.created_at,
                "locked_until": claim.locked_until,
                "next": claim.next_step(runtime().clock.now()),
            }
        return {
            "account": account,
            "scope": actor.scope_code,
            "claim": claim_body,
            "second_factor": account.totp_confirmed_at is not None,
        }
