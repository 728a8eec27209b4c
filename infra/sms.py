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

from certification.notices import Outcome
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
        self.send_template(phone, self.template_code, {"code": code})

    def send_template(
        self, phone: str, template: str, values: Mapping[str, str], out_id: str = ""
    ) -> str:
        """One message from an approved template; returns the provider's BizId."""
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
            "TemplateCode": template,
            "TemplateParam": json.dumps(dict(values), ensure_ascii=False, separators=(",", ":")),
            "Timestamp": self.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        if out_id:
            params["OutId"] = out_id  # the provider echoes it in delivery reports
        params["Signature"] = rpc_signature(params, self.secret)
        body = urllib.parse.urlencode(params, quote_via=urllib.parse.quote).encode("ascii")
        answer = _post(
            self.endpoint,
            body,
            {"Content-Type": "application/x-www-form-urlencoded"},
            self.timeout,
        )
        code = str(answer.get("Code", ""))
        if code != "OK":
            raise SmsUnavailable(
                f"Alibaba Cloud SMS refused the message: {code} "
                f"{answer.get('Message', '')}".strip(),
                outcome=aliyun_outcome(code),
                code=code,
                retry_after=60.0 if aliyun_outcome(code) is Outcome.RATE_LIMITED else None,
            )
        return str(answer.get("BizId", ""))


def aliyun_outcome(code: str) -> Outcome:
    """Dysmsapi's error codes sorted: limits wait, a wrong number or template never passes,
    the rest (balance, the provider's own errors, credentials) are retried and counted."""
    if code in ("isv.BUSINESS_LIMIT_CONTROL", "isv.DAY_LIMIT_CONTROL") or code.startswith(
        "Throttling"
    ):
        return Outcome.RATE_LIMITED
    if code in (
        "isv.MOBILE_NUMBER_ILLEGAL",
        "isv.BLACK_KEY_CONTROL_LIMIT",
        "isv.TEMPLATE_MISSING_PARAMETERS",
        "isv.SMS_TEMPLATE_ILLEGAL",
        "isv.SMS_SIGNATURE_ILLEGAL",
        "isv.INVALID_PARAMETERS",
        "isv.PARAM_LENGTH_LIMIT",
        "isv.INVALID_JSON_PARAM",
    ):
        return Outcome.REFUSED
    return Outcome.FAILED


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
        self.send_template(phone, self.template_id, {"code": code})

    def send_template(
        self, phone: str, template: str, values: Mapping[str, str], out_id: str = ""
    ) -> str:
        """One message from an approved template (its parameters in order); returns the
        provider's SerialNo."""
        body: dict[str, Any] = {
            "PhoneNumberSet": [f"+86{phone}"],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": template,
            "TemplateParamSet": list(values.values()),
        }
        if out_id:
            body["SessionContext"] = out_id  # echoed back in status reports
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
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
            code = str(error.get("Code", ""))
            raise SmsUnavailable(
                f"Tencent Cloud SMS refused the message: {code} {error.get('Message', '')}".strip(),
                outcome=tencent_outcome(code),
                code=code,
                retry_after=tencent_wait(code),
            )
        statuses = response.get("SendStatusSet") or [{}]
        code = str(statuses[0].get("Code", ""))
        if code != "Ok":
            raise SmsUnavailable(
                f"Tencent Cloud SMS did not send the message: {code} "
                f"{statuses[0].get('Message', '')}".strip(),
                outcome=tencent_outcome(code),
                code=code,
                retry_after=tencent_wait(code),
            )
        return str(statuses[0].get("SerialNo", ""))


def tencent_outcome(code: str) -> Outcome:
    if code == "RequestLimitExceeded" or code.startswith("LimitExceeded."):
        return Outcome.RATE_LIMITED
    if code in (
        "InvalidParameterValue.IncorrectPhoneNumber",
        "FailedOperation.PhoneNumberInBlacklist",
        "FailedOperation.TemplateIncorrectOrUnapproved",
        "FailedOperation.SignatureIncorrectOrUnapproved",
        "InvalidParameterValue.TemplateParameterFormatError",
        "InvalidParameterValue.TemplateParameterLengthLimit",
        "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
    ):
        return Outcome.REFUSED
    return Outcome.FAILED


_TENCENT_WAIT = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": 30.0,
    "LimitExceeded.PhoneNumberOneHourLimit": 3600.0,
    "LimitExceeded.PhoneNumberDailyLimit": 6 * 3600.0,
    "LimitExceeded.PhoneNumberSameContentDailyLimit": 6 * 3600.0,
    "RequestLimitExceeded": 1.0,
}


def tencent_wait(code: str) -> float | None:
    if code in _TENCENT_WAIT:
        return _TENCENT_WAIT[code]
    return 60.0 if tencent_outcome(code) is Outcome.RATE_LIMITED else None


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

    def send_template(
        self, phone: str, template: str, values: Mapping[str, str], out_id: str = ""
    ) -> str:
        log.info("demo SMS to %s******%s: %s %s", phone[:3], phone[-2:], template, dict(values))
        return f"log-{out_id}"

    def last_code(self, phone: str) -> str | None:
        with self._lock:
            return self._last.get(phone)


SmsSenderType = AliyunSms | TencentSms | LoggingSms
