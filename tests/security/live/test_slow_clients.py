"""Idle, half-sent requests do not stall the site under the shipped gunicorn.conf.py."""

import socket
import time
import urllib.request

import pytest

pytestmark = [pytest.mark.redis, pytest.mark.subprocess]


def half_sent_request(port: int) -> socket.socket:
    """A client that sends the start of a request, then nothing (a slowloris)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(b"GET /cpus/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def timed_healthz(url: str) -> float:
    began = time.monotonic()
    with urllib.request.urlopen(f"{url}/healthz", timeout=30) as answer:
        assert answer.status == 200
        assert answer.read() == b'{"status": "ok"}'
    return time.monotonic() - began


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


@pytest.mark.django_db(transaction=True)
def test_three_idle_half_sent_requests_do_not_stall_a_fourth(gunicorn_site):
    """The issue's attack: three such clients stalled three sync workers for 30 s."""
    site = gunicorn_site()
    slow = [half_sent_request(site.port) for _ in range(3)]
    try:
        time.sleep(0.5)  # the workers have picked them up
        waited = timed_healthz(site.url)
    finally:
        for sock in slow:
            sock.close()
    assert waited < 2, f"a normal request waited {waited:.1f} s behind three idle ones"


@pytest.mark.django_db(transaction=True)
def test_more_idle_requests_than_threads_are_dropped_after_the_client_timeout(gunicorn_site):
    """16 half-sent requests, more than all threads (3 workers x 4): each holds a thread for at
    most GUNICORN_CLIENT_TIMEOUT, then the server drops it and serves the others."""
    site = gunicorn_site(GUNICORN_CLIENT_TIMEOUT="2")
    slow = [half_sent_request(site.port) for _ in range(16)]
    try:
        time.sleep(0.5)
        waited = timed_healthz(site.url)
        dropped = [closed_by_server(sock) for sock in slow]
    finally:
        for sock in slow:
            sock.close()
    # Without the client timeout this request never got a thread (urlopen timed out after
    # 30 s). With it, at worst every idle client went to one worker: 16 / 4 threads = 4 rounds
    # of 2 s before its turn.
    assert waited < 4 * 2 + 5, f"a normal request waited {waited:.1f} s"
    assert all(dropped), dropped
    log = site.log()
    assert "dropped a client that made no progress for 2 s" in log
    assert "Traceback" not in log
