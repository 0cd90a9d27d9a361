"""Fixtures for the site tests: a separate Python process, a real Celery worker."""

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from kbsite.celery import app as celery_app

REPO_ROOT = Path(__file__).resolve().parents[2]

# Everything kbsite/settings.py reads; a subprocess starts with none of them unless given.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "STATIC_ROOT",
    "LOG_LEVEL",
    "CPUKB_MAX_UPLOAD_BYTES",
    "CPUKB_TASK_SOFT_TIME_LIMIT",
    "CPUKB_TASK_TIME_LIMIT",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "TRUST_X_FORWARDED_PROTO",
    "DJANGO_SETTINGS_MODULE",
)

# Run in the subprocess: request each path with Django's test client, print statuses and bodies.
CLIENT_SNIPPET = """
import json, sys
import django
django.setup()
from django.test import Client
client = Client()
results = {}
for path in sys.argv[1:]:
    response = client.get(path)
    results[path] = {"status": response.status_code, "body": response.content.decode()}
print(json.dumps(results))
"""

RunPython = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run_python() -> RunPython:
    """Run Python in the repository root with only the given settings variables set."""

    def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
        clean["DJANGO_SETTINGS_MODULE"] = "kbsite.settings"
        return subprocess.run(
            [sys.executable, *args],
            cwd=REPO_ROOT,
            env={**clean, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    return run


@pytest.fixture
def get_pages(run_python: RunPython) -> Callable[..., dict[str, dict]]:
    """GET paths in a separate process configured by `env`; {path: {"status", "body"}}."""

    def get(*paths: str, env: dict[str, str]) -> dict[str, dict]:
        completed = run_python("-c", CLIENT_SNIPPET, *paths, env=env)
        assert completed.returncode == 0, completed.stderr
        return json.loads(completed.stdout.strip().splitlines()[-1])

    return get


@pytest.fixture
def unused_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_broker() -> str:
    """The real Redis broker; fails (never skips) when the suite was started without one."""
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        pytest.fail(
            "REDIS_URL is not set, so Celery runs eagerly and this test cannot use a real broker "
            "and worker: run `make test`, or set REDIS_URL=redis://127.0.0.1:6379/0"
        )
    return settings.REDIS_URL


@pytest.fixture
def celery_worker(redis_broker: str) -> Iterator[object]:
    """A real Celery worker in a thread of this process, consuming from the Redis broker.

    It answers control pings (what /healthz?full=1 asks) and runs tasks. Tests that use it
    need @pytest.mark.django_db(transaction=True) once tasks touch the database, because the
    worker thread has its own connection and cannot see a test's uncommitted transaction.
    """
    with start_worker(celery_app, perform_ping_check=False, shutdown_timeout=30) as worker:
        yield worker
