"""A stand-in for the SMS providers' HTTPS APIs on loopback, speaking their documented
protocols: Alibaba Cloud's RPC ``SendSms`` (a form POST signed with HMAC-SHA1) on ``/``, and
Tencent Cloud's API 3.0 ``SendSms`` (a JSON POST signed with TC3-HMAC-SHA256) on ``/tc``.

It checks each request's signature with the credentials it was given (as the providers do)
and keeps the messages it "delivered", so a test can read the code a phone would receive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ALIYUN_KEY_ID, ALIYUN_SECRET = "LTAI-standin", "aliyun-standin-secret"
TENCENT_ID, TENCENT_KEY = "AKID-standin", "tencent-standin-key"


@dataclass
class Delivered:
    provider: str
    phone: str
    code: str  # the first template value (a sign-in code)
    sign_name: str
    template: str = ""
    values: list[str] = field(default_factory=list)  # the template's values, in order
    out_id: str = ""  # OutId (Alibaba) / SessionContext (Tencent)


@dataclass
class SmsStandIn:
    url: str = ""
    delivered: list[Delivered] = field(default_factory=list)
    refuse_with: str | None = None  # a provider error code to answer with
    down: bool = False  # an outage: every request answers 503 with an HTML page
    per_phone_per_minute: int = 0  # the providers' per-number limit (0: none)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    _sent_at: dict[str, list[float]] = field(default_factory=dict)

    def limited(self, phone: str) -> bool:
        """The providers' frequency control: too many messages to one number in a minute."""
        if not self.per_phone_per_minute:
            return False
        now = time.monotonic()
        with self.lock:
            recent = [t for t in self._sent_at.get(phone, []) if now - t < 60]
            if len(recent) >= self.per_phone_per_minute:
                return True
            self._sent_at[phone] = [*recent, now]
        return False

    def to(self, phone: str) -> list[Delivered]:
        with self.lock:
            return [d for d in self.delivered if d.phone == phone]

    def last_code(self, phone: str) -> str | None:
        with self.lock:
            found = [d.code for d in self.delivered if d.phone == phone]
        return found[-1] if found else None


def _aliyun_expected(params: dict[str, str]) -> str:
    def enc(value: str) -> str:
        return urllib.parse.quote(value, safe="-_.~")

    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()) if k != "Signature")
    to_sign = f"POST&{enc('/')}&{enc(query)}"
    digest = hmac.new(f"{ALIYUN_SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _tencent_expected(headers: Any, body: bytes) -> str:
    timestamp = int(headers["X-TC-Timestamp"])
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    canonical = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{headers['Content-Type']}\nhost:{headers['Host']}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/sms/tc3_request"
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    )

    def sign(key: bytes, msg: str) -> bytes:
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    key = sign(sign(sign(f"TC3{TENCENT_KEY}".encode(), date), "sms"), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={TENCENT_ID}/{scope}, SignedHeaders=content-type;host, "
        f"Signature={signature}"
    )


def _handler(state: SmsStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:  # quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with state.lock:
                state.requests += 1
            if state.down:
                raw = b"<html><body>503 Service Temporarily Unavailable</body></html>"
                self.send_response(503)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)
                return
            if self.path.startswith("/tc"):
                self._tencent(body)
            else:
                self._aliyun(body)

        def _aliyun(self, body: bytes) -> None:
            params = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
            if params.get("AccessKeyId") != ALIYUN_KEY_ID or not hmac.compare_digest(
                params.get("Signature", ""), _aliyun_expected(params)
            ):
                self._answer(
                    400,
                    {
                        "Code": "SignatureDoesNotMatch",
                        "Message": "Specified signature is not matched with our calculation.",
                    },
                )
                return
            if state.refuse_with:
                self._answer(200, {"Code": state.refuse_with, "Message": "refused"})
                return
            if state.limited(params["PhoneNumbers"]):
                self._answer(
                    200,
                    {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发号码天级流控Permits:10"},
                )
                return
            values = [str(v) for v in json.loads(params["TemplateParam"]).values()]
            with state.lock:
                state.delivered.append(
                    Delivered(
                        "aliyun",
                        params["PhoneNumbers"],
                        values[0] if values else "",
                        params["SignName"],
                        params["TemplateCode"],
                        values,
                        params.get("OutId", ""),
                    )
                )
            self._answer(200, {"Code": "OK", "Message": "OK", "BizId": "900619746936498440^0"})

        def _tencent(self, body: bytes) -> None:
            auth = self.headers.get("Authorization", "")
            if self.headers.get("X-TC-Action") != "SendSms" or not hmac.compare_digest(
                auth, _tencent_expected(self.headers, body)
            ):
                self._answer(
                    200,
                    {
                        "Response": {
                            "Error": {
                                "Code": "AuthFailure.SignatureFailure",
                                "Message": "signature mismatch",
                            }
                        }
                    },
                )
                return
            request = json.loads(body)
            if state.refuse_with:
                status = {"Code": state.refuse_with, "Message": "refused"}
                self._answer(200, {"Response": {"SendStatusSet": [status]}})
                return
            phone = request["PhoneNumberSet"][0].removeprefix("+86")
            if state.limited(phone):
                status = {
                    "Code": "LimitExceeded.PhoneNumberThirtySecondLimit",
                    "Message": "the number of SMS messages sent to a single mobile number within "
                    "30 seconds exceeds the upper limit",
                }
                self._answer(200, {"Response": {"SendStatusSet": [status], "RequestId": "x"}})
                return
            values = [str(v) for v in request["TemplateParamSet"]]
            with state.lock:
                state.delivered.append(
                    Delivered(
                        "tencent",
                        phone,
                        values[0] if values else "",
                        request["SignName"],
                        request["TemplateId"],
                        values,
                        request.get("SessionContext", ""),
                    )
                )
            status = {"Code": "Ok", "Message": "send success", "PhoneNumber": f"+86{phone}"}
            self._answer(200, {"Response": {"SendStatusSet": [status], "RequestId": "x"}})

    return Handler


def start() -> tuple[SmsStandIn, ThreadingHTTPServer]:
    state = SmsStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
