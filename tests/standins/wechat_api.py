"""A stand-in for the WeChat server API on loopback, speaking the documented protocol of
subscribe messages: ``POST /cgi-bin/stable_token`` (an access token for the appid and secret,
valid ``expires_in`` seconds, the same token to every caller until it expires) and
``POST /cgi-bin/message/subscribe/send?access_token=`` (errcode 0 and a msgid, or WeChat's
error codes: 40001 invalid token, 43101 the user has not accepted, 47003 bad data, 45009
the frequency limit, -1 system busy)."""

from __future__ import annotations

import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

APPID, SECRET = "wx-standin-appid", "wx-standin-secret"


@dataclass
class Sent:
    touser: str
    template_id: str
    data: dict[str, str]
    lang: str


@dataclass
class WeChatStandIn:
    url: str = ""
    templates: set[str] = field(default_factory=set)  # registered template ids
    subscribed: set[str] = field(default_factory=set)  # openids that accepted
    sent: list[Sent] = field(default_factory=list)
    tokens_issued: int = 0
    busy: bool = False  # answer -1 (system busy)
    limit_per_minute: int = 0  # 45009 beyond it (0: none)
    token: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def expire_token(self) -> None:
        """WeChat replaced the token (another stable_token with force_refresh, or expiry)."""
        with self.lock:
            self.token = ""


def _handler(state: WeChatStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _answer(self, body: dict[str, Any]) -> None:
            raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
            self.send_response(200)  # WeChat answers errors with HTTP 200 and an errcode
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            path, _, query = self.path.partition("?")
            if path == "/cgi-bin/stable_token":
                self._token(body)
            elif path == "/cgi-bin/message/subscribe/send":
                self._send(body, urllib.parse.parse_qs(query).get("access_token", [""])[0])
            else:
                self._answer({"errcode": 40066, "errmsg": "invalid url"})

        def _token(self, body: dict[str, Any]) -> None:
            if body.get("appid") != APPID:
                self._answer({"errcode": 40013, "errmsg": "invalid appid"})
                return
            if body.get("secret") != SECRET:
                self._answer({"errcode": 40125, "errmsg": "invalid appsecret"})
                return
            with state.lock:
                if not state.token or body.get("force_refresh"):
                    state.token = secrets.token_urlsafe(24)
                    state.tokens_issued += 1
                token = state.token
            self._answer({"access_token": token, "expires_in": 7200})

        def _send(self, body: dict[str, Any], token: str) -> None:
            with state.lock:
                valid = bool(state.token) and token == state.token
                recent = len(state.sent)
            if not valid:
                self._answer(
                    {
                        "errcode": 40001,
                        "errmsg": "invalid credential, access_token is invalid or not latest",
                    }
                )
                return
            if state.busy:
                self._answer({"errcode": -1, "errmsg": "system error"})
                return
            if state.limit_per_minute and recent >= state.limit_per_minute:
                self._answer({"errcode": 45009, "errmsg": "reach max api daily quota limit"})
                return
            if body.get("template_id") not in state.templates:
                self._answer({"errcode": 40037, "errmsg": "invalid template_id"})
                return
            data = body.get("data") or {}
            for key, value in data.items():
                text = str((value or {}).get("value", ""))
                if not text or (key.startswith("thing") and len(text) > 20):
                    self._answer(
                        {"errcode": 47003, "errmsg": f"argument invalid! data.{key}.value invalid"}
                    )
                    return
            if body.get("touser") not in state.subscribed:
                self._answer({"errcode": 43101, "errmsg": "user refuse to accept the msg"})
                return
            with state.lock:
                state.sent.append(
                    Sent(
                        body["touser"],
                        body["template_id"],
                        {k: v["value"] for k, v in data.items()},
                        body.get("lang", "zh_CN"),
                    )
                )
                msgid = 1000 + len(state.sent)
            self._answer({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    return Handler


def start() -> tuple[WeChatStandIn, ThreadingHTTPServer]:
    state = WeChatStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
