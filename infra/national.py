"""Transports for the national cross-region certification system's upload batches (Art. 21).

The real endpoint is reachable only from the agency's network; both transports are
pluggable through settings:

- ``outbox`` (default): each batch file is written to a folder, with a ``.sha256`` file
  beside it, for the agency's transfer agent (or an operator) to deliver;
- ``http``: the batch is POSTed (``text/csv``; ``Authorization: Bearer <token>`` when a
  token is set; ``X-Content-SHA256``); a 2xx answer's body is the receipt. The URL must be
  HTTPS (plain HTTP only to loopback, for a local relay or a test), and a redirect is a
  failure, never followed: the batch holds names and citizen IDs, and the token must not
  travel to wherever a redirect points.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # the 3xx surfaces as an HTTPError: the batch was not delivered


_OPENER = urllib.request.build_opener(_NoRedirects)


def url_refusal(url: str) -> str | None:
    """Why this URL may not receive the batches, or None."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return None
    return "the national upload URL must be https:// (http:// only to loopback)"


class TransportFailed(Exception):
    pass


class OutboxTransport:
    name = "outbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, file_name: str, content: bytes) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / Path(file_name).name
        partial = target.with_suffix(target.suffix + ".partial")
        partial.write_bytes(content)
        partial.replace(target)  # the agent never sees half a file
        digest = hashlib.sha256(content).hexdigest()
        target.with_suffix(target.suffix + ".sha256").write_text(f"{digest}  {target.name}\n")
        return f"outbox:{target}"


class HttpTransport:
    name = "http"

    def __init__(self, url: str, token: str | None, timeout_s: float = 30.0) -> None:
        refusal = url_refusal(url)
        if refusal:
            raise ValueError(refusal)
        self.url = url
        self.token = token
        self.timeout_s = timeout_s

    def send(self, file_name: str, content: bytes) -> str:
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url,
            data=content,
            method="POST",
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "X-File-Name": file_name,
                "X-Content-SHA256": hashlib.sha256(content).hexdigest(),
                **({"Authorization": f"Bearer {self.token}"} if self.token else {}),
            },
        )
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                body: bytes = response.read(10_000)
                return body.decode("utf-8", errors="replace").strip() or f"http {response.status}"
        except urllib.error.HTTPError as err:
            raise TransportFailed(f"the national system answered {err.code}") from err
        except (urllib.error.URLError, TimeoutError) as err:
            raise TransportFailed(f"the national system is unreachable: {err}") from err
