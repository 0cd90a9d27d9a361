"""Issue 19: a request body over the limit is refused before it is read: a declared
Content-Length at once (413, JSON error shape under /api/, a page elsewhere), a chunked body
without a length while it streams. Real HTTP against live_server, with raw sockets so the
client can declare 40 MiB and send almost none of it."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from cpus.models import HostReport

FORTY_MIB = 40 * 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def _connect(live_server) -> socket.socket:
    parts = urlsplit(live_server.url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=20)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "-1"))  # none: read until the server closes
    while length < 0 or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    # A server that goes on reading the unsent body as new requests may answer those too.
    return status, headers, body[:length] if length >= 0 else body


def _request_head(path: str, live_server, extra: str) -> bytes:
    host = urlsplit(live_server.url).netloc
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\n{extra}\r\n"
    ).encode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/reports/", "/reports/upload/"])
def test_a_declared_forty_mib_body_is_refused_before_it_is_sent(live_server, path):
    sock = _connect(live_server)
    try:
        sock.sendall(_request_head(path, live_server, f"Content-Length: {FORTY_MIB}\r\n"))
        sock.sendall(b'{"raw": "' + b"x" * 65536)  # 64 KiB of the promised 40 MiB, then wait
        started = time.perf_counter()
        status, headers, body = _read_response(sock)
        elapsed = time.perf_counter() - started
    finally:
        sock.close()
    assert status == 413
    assert elapsed < 5  # answered without waiting for the rest of the body
    if path.startswith("/api/"):
        error = json.loads(body)
        assert error["code"] == "request_too_large"
        assert f"{FORTY_MIB:,} bytes declared" in error["error"] and error["detail"]
    else:
        assert headers["content-type"].startswith("text/html")
        assert b"larger than" in body
    assert HostReport.objects.count() == 0


@pytest.fixture
def gunicorn_url(tmp_path):
    """The site under a real gunicorn (it decodes chunked bodies; runserver gives Django none)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kbsite.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],  # fmt: skip
        cwd=ROOT,
        env={**os.environ, "DEBUG": "0"},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "gunicorn died"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _send_chunked(url: str, path: str) -> tuple[int, bytes, int]:
    """POST an endless chunked body; (status, body, bytes sent before the answer)."""
    server = types.SimpleNamespace(url=url)
    sock = _connect(server)
    sent = {"bytes": 0}

    def send_chunks():
        chunk = b"x" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        try:
            # Up to 40 MiB, never the final zero-length chunk: the server must not wait for it.
            while sent["bytes"] < FORTY_MIB:
                sock.sendall(frame)
                sent["bytes"] += len(chunk)
        except OSError:
            pass  # the server answered and closed: exactly what should happen

    try:
        sock.sendall(_request_head(path, server, "Transfer-Encoding: chunked\r\n"))
        sender = threading.Thread(target=send_chunks, daemon=True)
        sender.start()
        status, _, body = _read_response(sock)
    finally:
        sock.close()
    sender.join(timeout=20)
    return status, body, sent["bytes"]


def test_a_chunked_body_without_length_is_capped_while_streaming(gunicorn_url):
    status, body, sent = _send_chunked(gunicorn_url, "/api/reports/")
    assert status == 413
    error = json.loads(body)
    assert error["code"] == "request_too_large" and "sent in chunks" in error["error"]
    # Read at most the limit and a little: nowhere near the 40 MiB the client would send.
    assert sent < FORTY_MIB


def test_a_declared_forty_mib_body_is_refused_by_gunicorn_too(gunicorn_url):
    sock = _connect(types.SimpleNamespace(url=gunicorn_url))
    try:
        head = _request_head(
            "/api/reports/",
            types.SimpleNamespace(url=gunicorn_url),
            f"Content-Length: {FORTY_MIB}\r\n",
        )
        sock.sendall(head + b"{")
        status, _, body = _read_response(sock)
    finally:
        sock.close()
    assert status == 413 and json.loads(body)["code"] == "request_too_large"


@pytest.mark.django_db(transaction=True)
def test_runserver_reads_no_chunked_body_and_asks_for_a_length(live_server):
    """Django's development server hands a chunked body over as empty: nothing is read, and
    the answer says to send a Content-Length."""
    status, body, _ = _send_chunked(live_server.url, "/api/reports/")
    assert status == 411 and json.loads(body)["code"] == "length_required"


def test_a_body_within_the_limit_passes(client, db):
    from django.test import Client

    response = Client().post(
        "/api/reports/", json.dumps({"raw": "x"}), content_type="application/json"
    )
    assert response.status_code in (400, 401, 403)  # reached the view (which wants an account)
    assert response.json()["code"] != "request_too_large"


def test_a_malformed_content_length_is_a_400(client, db):
    response = client.generic(
        "POST", "/api/reports/", b"{}", content_type="application/json", CONTENT_LENGTH="-5"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_content_length"


def test_the_limit_follows_the_upload_setting():
    assert settings.CPUKB_MAX_REQUEST_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert settings.CPUKB_MAX_REQUEST_BYTES > settings.CPUKB_MAX_UPLOAD_BYTES
