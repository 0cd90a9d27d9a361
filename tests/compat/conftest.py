"""Fixtures for matrix-run tests: a real Celery worker in its own process, which can be killed."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (the worker must use it)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def purge_queue():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("REDIS_URL is not set: these tests need the real Redis (run `make test`)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery", "unacked", "unacked_index")
    yield
    client.delete("celery", "unacked", "unacked_index")


@pytest.fixture
def worker_process(purge_queue):
    """Start real `celery worker` processes on demand; every one is killed at the end."""
    started: list[subprocess.Popen] = []

    def start(tile_pairs: int = 4_000_000) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "CPUKB_MATRIX_TILE_PAIRS": str(tile_pairs),
            "CPUKB_BROKER_VISIBILITY_TIMEOUT": "5",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kbsite",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def wait_for():
    return _wait_for


def _wait_for(condition, timeout: float = 90.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s")
