"""The national upload transports (Art. 21): a folder for the transfer agent, or HTTP."""

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from infra.national import HttpTransport, OutboxTransport, TransportFailed

CONTENT = "citizen_id,name\n500103195003011114,张秀兰\n".encode()


def test_outbox_writes_the_file_and_its_checksum(tmp_path):
    receipt = OutboxTransport(tmp_path / "out").send("20261127-ab.csv", CONTENT)
    target = tmp_path / "out" / "20261127-ab.csv"
    assert receipt == f"outbox:{target}"
    assert target.read_bytes() == CONTENT
    digest = hashlib.sha256(CONTENT).hexdigest()
    assert (tmp_path / "out" / "20261127-ab.csv.sha256").read_text() == f"{digest}  {target.name}\n"
    assert not list((tmp_path / "out").glob("*.partial"))


def test_outbox_keeps_files_inside_its_folder(tmp_path):
    OutboxTransport(tmp_path / "out").send("../../escape.csv", CONTENT)
    assert (tmp_path / "out" / "escape.csv").exists()
    assert not (tmp_path / "escape.csv").exists()


@pytest.fixture
def stand_in():
    """A stand-in for the national endpoint on loopback."""
    received = []
    status = {"code": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers, body))  # case-insensitive names
            self.send_response(status["code"])
            self.end_headers()
            self.wfile.write(b"RECEIPT-0001")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/upload", received, status
    server.shutdown()


def test_http_posts_the_batch_with_its_checksum_and_token(stand_in):
    url, received, _ = stand_in
    receipt = HttpTransport(url, "t0ken").send("20261127-ab.csv", CONTENT)
    assert receipt == "RECEIPT-0001"
    headers, body = received[0]
    assert body == CONTENT
    assert headers["Authorization"] == "Bearer t0ken"
    assert headers["X-Content-SHA256"] == hashlib.sha256(CONTENT).hexdigest()
    assert headers["X-File-Name"] == "20261127-ab.csv"


def test_http_failures_are_reported(stand_in):
    url, _received, status = stand_in
    status["code"] = 503
    with pytest.raises(TransportFailed, match="answered 503"):
        HttpTransport(url, None).send("x.csv", CONTENT)
    with pytest.raises(TransportFailed, match="unreachable"):
        HttpTransport("http://127.0.0.1:9/none", None, timeout_s=2).send("x.csv", CONTENT)
    with pytest.raises(ValueError, match="http"):
        HttpTransport("file:///etc/passwd", None)


def test_only_https_or_loopback_receives_the_batches():
    from infra.national import url_refusal
    from infra.settings import Settings, SettingsError

    assert url_refusal("https://national.example/upload") is None
    assert url_refusal("http://127.0.0.1:9000/upload") is None
    for bad in ("http://national.example/upload", "ftp://x/y", "https:///nohost"):
        assert url_refusal(bad), bad
        with pytest.raises(ValueError):
            HttpTransport(bad, "t0ken")
    with pytest.raises(SettingsError, match="https"):
        Settings(national_transport="http", national_upload_url="http://national.example/u")


def test_a_redirect_is_a_failure_and_the_token_goes_nowhere_else():
    """A 302 to another host must not carry the batch or the token there."""
    elsewhere: list[object] = []

    class Other(BaseHTTPRequestHandler):
        def do_GET(self):  # urllib turns a 302 after a POST into a GET
            elsewhere.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def do_POST(self):
            self.do_GET()

        def log_message(self, *args):
            pass

    class Redirecting(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_port}/steal")
            self.end_headers()

        def log_message(self, *args):
            pass

    other = HTTPServer(("127.0.0.1", 0), Other)
    first = HTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (other, first):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(TransportFailed, match="302"):
            HttpTransport(f"http://127.0.0.1:{first.server_port}/upload", "t0ken").send(
                "b.csv", CONTENT
            )
        assert elsewhere == []
    finally:
        first.shutdown()
        other.shutdown()
