"""A real gunicorn, started with the repository's gunicorn.conf.py, on the test database.

Tests using ``gunicorn_site`` need ``@pytest.mark.django_db(transaction=True)``: the server is
another process and sees only committed rows. It counts in the same Redis cache as the tests
(REDIS_URL), which the suite clears before each test.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path):
        self.process, self.port, self.log_path = process, port, log_path
        self.url = f"http://127.0.0.1:{port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def gunicorn_site(tmp_path) -> Iterator[Callable[..., Site]]:
    """``gunicorn_site(*args, **env)``: gunicorn -c gunicorn.conf.py, once /healthz answers."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: these tests need the shared Redis cache")
    started: list[Site] = []

    def start(*args: str, **env: str) -> Site:
        port = free_port()
        database_url = urlunsplit(
            urlsplit(os.environ["DATABASE_URL"])._replace(
                path="/" + connection.settings_dict["NAME"]
            )
        )
        log_path = tmp_path / f"gunicorn-{len(started)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    str(ROOT / "gunicorn.conf.py"),
                    "--bind",
                    f"127.0.0.1:{port}",
                    *args,
                ],  # fmt: skip
                cwd=ROOT,
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith("GUNICORN")},
                    "DEBUG": "0",
                    "SECRET_KEY": "test-only-not-secret",
                    "ALLOWED_HOSTS": "127.0.0.1",
                    "DATABASE_URL": database_url,
                    **env,
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        site = Site(process, port, log_path)
        started.append(site)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{site.url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{site.log()[-3000:]}")
            time.sleep(0.2)
        return site

    yield start
    for site in started:
        if site.process.poll() is None:
            os.killpg(site.process.pid, signal.SIGTERM)
            try:
                site.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(site.process.pid, signal.SIGKILL)
                site.process.wait(timeout=10)
