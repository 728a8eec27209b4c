"""The channels notices go out on (certification.ports.NoticeChannel).

- Text messages through the sign-in work's providers (Alibaba Cloud or Tencent Cloud SMS),
  one approved template per kind of notice (``LIFECERT_NOTICE_SMS_TEMPLATES``).
- WeChat subscribe messages for mini-program users: ``POST /cgi-bin/message/subscribe/send``
  with an access token from ``/cgi-bin/stable_token`` (the same token for every worker, so
  several processes never invalidate each other's), cached until shortly before it expires
  and fetched again when WeChat says it is invalid (40001, 42001).
- App push behind a logging adapter: the app's own inbox (``GET /api/me/notices``) is what the
  person reads; a push provider plugs in here.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from certification.notices import Outcome
from certification.ports import DeliveryError, Outgoing

log = logging.getLogger(__name__)


class TemplateSender(Protocol):
    name: str

    def send_template(
        self, phone: str, template: str, values: Mapping[str, str], out_id: str = ""
    ) -> str: ...


def approved_template(templates: Mapping[str, str], message: Outgoing, where: str) -> str:
    """The provider-approved template of the message's kind; a kind with none is refused for
    good on this channel (sending free text is not allowed by either provider)."""
    template = templates.get(message.kind)
    if not template:
        raise DeliveryError(
            f"no approved {where} template for {message.kind}",
            outcome=Outcome.REFUSED,
            code="no_template",
        )
    return template


class SmsChannel:
    name = "sms"

    def __init__(self, sender: TemplateSender, templates: Mapping[str, str]) -> None:
        self.sender = sender
        self.templates = dict(templates)

    def send(self, message: Outgoing) -> str:
        template = approved_template(self.templates, message, "text-message")
        phone = message.address.removeprefix("+86")
        return self.sender.send_template(
            phone, template, message.params, out_id=str(message.delivery_id)
        )


# WeChat's errcodes, sorted into what the outbox does next
_WECHAT_TOKEN_INVALID = {40001, 42001, 40014}
_WECHAT_REFUSED = {43101, 40003, 47003, 40037, 41030}  # not subscribed, openid, data, template
_WECHAT_LIMITED = {45009, 45011, 45047}


class WeChatSubscribeChannel:
    name = "wechat"

    def __init__(
        self,
        appid: str,
        secret: str,
        templates: Mapping[str, str],
        *,
        api_base: str = "https://api.weixin.qq.com",
        page: str = "pages/index/index",
        state: str = "formal",
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.appid, self.secret = appid, secret
        self.templates = dict(templates)
        self.api_base = api_base.rstrip("/")
        self.page, self.state, self.timeout = page, state, timeout
        self.clock = clock
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()
        self.tokens_fetched = 0

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.api_base}{path}"
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise DeliveryError("the WeChat API address must be https", outcome=Outcome.FAILED)
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        req = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, data=data, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
        except urllib.error.HTTPError as err:
            raise DeliveryError(
                f"WeChat answered HTTP {err.code}", outcome=Outcome.UNREACHABLE
            ) from err
        except (urllib.error.URLError, TimeoutError, OSError) as err:
            raise DeliveryError(f"WeChat could not be reached: {err}") from err
        try:
            payload: dict[str, Any] = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise DeliveryError("WeChat answered something not JSON") from err
        return payload

    def _access_token(self, *, fresh: bool = False) -> str:
        with self._lock:
            now = self.clock()
            if self._token is not None and not fresh and self._token[1] > now:
                return self._token[0]
            answer = self._call(
                "/cgi-bin/stable_token",
                {
                    "grant_type": "client_credential",
                    "appid": self.appid,
                    "secret": self.secret,
                    "force_refresh": False,
                },
            )
            token = answer.get("access_token")
            if not token:
                raise DeliveryError(
                    f"WeChat gave no access token: {answer.get('errcode')} "
                    f"{answer.get('errmsg', '')}",
                    outcome=Outcome.FAILED,
                    code=str(answer.get("errcode", "")),
                )
            self.tokens_fetched += 1
            expires = float(answer.get("expires_in") or 7200)
            self._token = (str(token), now + max(60.0, expires - 300.0))
            return str(token)

    def send(self, message: Outgoing) -> str:
        template = approved_template(self.templates, message, "WeChat")
        body = {
            "touser": message.address,
            "template_id": template,
            "page": self.page,
            "miniprogram_state": self.state,
            "lang": "en_US" if message.language == "en" else "zh_CN",
            "data": {k: {"value": v} for k, v in message.wechat.items()},
        }
        for fresh in (False, True):
            token = self._access_token(fresh=fresh)
            query = urllib.parse.urlencode({"access_token": token})
            answer = self._call(f"/cgi-bin/message/subscribe/send?{query}", body)
            code = int(answer.get("errcode") or 0)
            if code == 0:
                return str(answer.get("msgid", ""))
            if code in _WECHAT_TOKEN_INVALID and not fresh:
                continue  # the token was replaced or expired: fetch it again, once
            break
        detail = f"WeChat refused the message: {code} {answer.get('errmsg', '')}".strip()
        if code in _WECHAT_REFUSED:
            raise DeliveryError(detail, outcome=Outcome.REFUSED, code=str(code))
        if code in _WECHAT_LIMITED:
            raise DeliveryError(
                detail, outcome=Outcome.RATE_LIMITED, code=str(code), retry_after=600.0
            )
        if code == -1:  # "system busy"
            raise DeliveryError(detail, outcome=Outcome.UNREACHABLE, code=str(code))
        raise DeliveryError(detail, outcome=Outcome.FAILED, code=str(code))


class LoggingPush:
    """App push through a log line: the inbox is what the app shows; a push provider's adapter
    replaces this one in production."""

    name = "push"

    def send(self, message: Outgoing) -> str:
        log.info("push to account %s: %s (%s)", message.address, message.title, message.kind)
        return f"push-{message.delivery_id}"
