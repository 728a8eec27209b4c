"""Text messages for sign-in codes, through the providers the agency would contract.

- Alibaba Cloud SMS (Dysmsapi 2017-05-25, ``SendSms``): the documented RPC style, a query
  signed with HMAC-SHA1 over the sorted, percent-encoded parameters (signature version 1.0).
- Tencent Cloud SMS (sms 2021-01-11, ``SendSms``): API 3.0, a JSON body signed with
  TC3-HMAC-SHA256 (the key derived from the date, the service and ``tc3_request``).
- A logging sender for the demo and development: the code goes to the log (and the demo's
  page shows it); production refuses to start with it (lifecert/settings.py).

Both provider adapters speak HTTPS with the standard library: no vendor SDK to install, and
the tests run them against local stand-in servers that check the signatures.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from certification.ports import SmsUnavailable

log = logging.getLogger(__name__)


def _post(url: str, data: bytes, headers: Mapping[str, str], timeout: float) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise SmsUnavailable("the text-message provider's address is not an http(s) URL")
    req = urllib.request.Request(url, data=data, headers=dict(headers), method="POST")  # noqa: S310 - checked
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - checked above
            body = resp.read()
    except urllib.error.HTTPError as err:
        body = err.read()
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise SmsUnavailable(f"the text-message provider could not be reached: {err}") from err
    try:
        payload: dict[str, Any] = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise SmsUnavailable("the text-message provider answered something not JSON") from err
    return payload


# --- Alibaba Cloud ---------------------------------------------------------------------------


def percent_encode(value: str) -> str:
    """RFC 3986 encoding as the RPC signature wants it (space %20, * %2A, ~ kept)."""
    return urllib.parse.quote(value, safe="-_.~")


def rpc_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    """HMAC-SHA1 of ``METHOD&%2F&<the sorted, encoded query>`` with ``secret&``, base64."""
    query = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}"
        for k, v in sorted(params.items())
        if k != "Signature"
    )
    to_sign = f"{method}&{percent_encode('/')}&{percent_encode(query)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class AliyunSms:
    name = "aliyun"

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        *,
        endpoint: str | None = None,
        timeout: float = 5.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.access_key_id = access_key_id
        self.secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.endpoint = endpoint or "https://dysmsapi.aliyuncs.com/"
        self.timeout = timeout
        self.now = now

    def send_code(self, phone: str, code: str) -> None:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": code}, separators=(",", ":")),
            "Timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = rpc_signature(params, self.secret)
        body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode("ascii")
        answer = _post(
            self.endpoint,
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
            self.timeout,
        )
        if answer.get("Code") != "OK":
            raise SmsUnavailable(
                f"Alibaba Cloud SMS refused the message: {answer.get('Code')} "
                f"{answer.get('Message', '')}".strip()
            )


# --- Tencent Cloud ---------------------------------------------------------------------------


def tc3_signature(secret_key: str, date: str, service: str, string_to_sign: str) -> str:
    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()

    secret_date = sign(f"TC3{secret_key}".encode(), date)
    secret_service = sign(secret_date, service)
    secret_signing = sign(secret_service, "tc3_request")
    return hmac.new(secret_signing, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc3_authorization(
    *,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: str,
    timestamp: int,
    content_type: str = "application/json; charset=utf-8",
) -> str:
    """The ``Authorization`` header of a TencentCloud API 3.0 POST (TC3-HMAC-SHA256)."""
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode("utf-8")).hexdigest(),
        ]
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        [
            "TC3-HMAC-SHA256",
            str(timestamp),
            scope,
            hashlib.sha256(canonical.encode("utf-8")).hexdigest(),
        ]
    )
    signature = tc3_signature(secret_key, date, service, to_sign)
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


class TencentSms:
    name = "tencent"

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        sign_name: str,
        template_id: str,
        *,
        region: str = "ap-guangzhou",
        endpoint: str | None = None,
        timeout: float = 5.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sdk_app_id = sdk_app_id
        self.sign_name = sign_name
        self.template_id = template_id
        self.region = region
        self.endpoint = endpoint or "https://sms.tencentcloudapi.com/"
        self.host = urllib.parse.urlsplit(self.endpoint).netloc
        self.timeout = timeout
        self.now = now

    def send_code(self, phone: str, code: str) -> None:
        payload = json.dumps(
            {
                "PhoneNumberSet": [f"+86{phone}"],
                "SmsSdkAppId": self.sdk_app_id,
                "SignName": self.sign_name,
                "TemplateId": self.template_id,
                "TemplateParamSet": [code],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        timestamp = int(self.now().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                secret_id=self.secret_id,
                secret_key=self.secret_key,
                service="sms",
                host=self.host,
                payload=payload,
                timestamp=timestamp,
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": self.host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": self.region,
        }
        answer = _post(self.endpoint, payload.encode("utf-8"), headers, self.timeout)
        response = answer.get("Response") or {}
        if "Error" in response:
            error = response["Error"]
            raise SmsUnavailable(
                f"Tencent Cloud SMS refused the message: {error.get('Code')} "
                f"{error.get('Message', '')}".strip()
            )
        statuses = response.get("SendStatusSet") or [{}]
        if statuses[0].get("Code") != "Ok":
            raise SmsUnavailable(
                f"Tencent Cloud SMS did not send the message: {statuses[0].get('Code')} "
                f"{statuses[0].get('Message', '')}".strip()
            )


# --- the demo ---------------------------------------------------------------------------------


class LoggingSms:
    """Development and demo only: the code goes to the log, and the last code of each phone is
    kept so the demo's sign-in page can show it. Refused in production."""

    name = "log"

    def __init__(self) -> None:
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def send_code(self, phone: str, code: str) -> None:
        log.warning("demo SMS to %s******%s: sign-in code %s", phone[:3], phone[-2:], code)
        with self._lock:
            self._last[phone] = code

    def last_code(self, phone: str) -> str | None:
        with self._lock:
            return self._last.get(phone)


SmsSenderType = AliyunSms | TencentSms | LoggingSms
