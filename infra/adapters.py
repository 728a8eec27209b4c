"""Small adapters for the ports: the clock, password hashing, mobile identity providers."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from werkzeug.security import check_password_hash, generate_password_hash

from certification.errors import AuthenticationFailed
from certification.ports import VerifiedIdentity


class SystemClock:
    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return datetime.now(self.zone).date()

    def local_date(self, moment: datetime) -> date:
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(self.zone).date()


class WerkzeugPasswordHasher:
    """scrypt through Werkzeug's maintained implementation."""

    def hash(self, password: str) -> str:
        return generate_password_hash(password, method="scrypt")

    def verify(self, password_hash: str, password: str) -> bool:
        return check_password_hash(password_hash, password)


class DevelopmentIdentityProvider:
    """Stands in for the app / mini-program login on development machines.

    Accepts codes of the form ``dev:<subject>`` or ``dev:<subject>:<verified phone>``.
    Never enabled in production unless an operator explicitly turns it on.
    """

    name = "dev"
    _CODE = re.compile(r"^dev:([A-Za-z0-9_.-]{1,64})(?::(\+?\d{6,15}))?$")

    def exchange(self, code: str) -> VerifiedIdentity:
        match = self._CODE.match(code or "")
        if not match:
            raise AuthenticationFailed(
                "Development login codes look like dev:<name> or dev:<name>:<phone>."
            )
        return VerifiedIdentity(provider=self.name, subject=match.group(1), phone=match.group(2))


class WeChatMiniProgramProvider:
    """WeChat mini-program login: exchanges ``wx.login``'s code through ``code2session``.

    The response's ``openid`` identifies the user within this mini-program.
    """

    name = "wechat"

    def __init__(self, appid: str, secret: str, api_base: str, timeout: float = 5.0) -> None:
        self.appid = appid
        self.secret = secret
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout

    def exchange(self, code: str) -> VerifiedIdentity:
        if not code or len(code) > 128:
            raise AuthenticationFailed("The WeChat login code is missing or malformed.")
        query = urllib.parse.urlencode(
            {
                "appid": self.appid,
                "secret": self.secret,
                "js_code": code,
                "grant_type": "authorization_code",
            }
        )
        url = f"{self.api_base}/sns/jscode2session?{query}"
        if not url.startswith(("https://", "http://")):
            raise AuthenticationFailed("The WeChat API address is not an http(s) URL.")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:  # noqa: S310 - checked
                payload = json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, ValueError) as err:
            raise AuthenticationFailed(
                "WeChat could not be reached to confirm the login; please try again."
            ) from err
        if payload.get("errcode") or not payload.get("openid"):
            raise AuthenticationFailed(
                f"WeChat refused the login code ({payload.get('errcode')}: "
                f"{payload.get('errmsg', 'no openid')}); please log in again."
            )
        return VerifiedIdentity(provider=self.name, subject=str(payload["openid"]))


class PyOtpTotp:
    """Time-based one-time codes (RFC 6238: 6 digits, 30 s) through ``pyotp``."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def new_secret(self) -> str:
        import pyotp

        return pyotp.random_base32()

    def uri(self, secret: str, account_name: str) -> str:
        import pyotp

        return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=self.issuer)

    def step_of(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step ``code`` belongs to, one step of clock drift either side allowed."""
        import hmac

        import pyotp

        if not re.fullmatch(r"\d{6}", code):
            return None
        totp = pyotp.TOTP(secret)
        found = None
        for drift in (-1, 0, 1):
            moment = at.timestamp() + drift * totp.interval
            if hmac.compare_digest(totp.at(moment), code):
                found = totp.timecode(datetime.fromtimestamp(moment, UTC))
        return found
