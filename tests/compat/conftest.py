"""Fixtures for matrix-run tests: a real Celery worker in its own process, which can be killed."""

import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def purge_queue():
    if settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.fail("REDIS_URL is not set: these tests need the real Redis (run `make test`)")
    client = redis.Redis.from_url(settings.REDIS_URL)
    client.delete("celery", "unacked", "unacked_index")
    yield
    client.delete("celery", "unacked", "unacked_index")


@pytest.fixture
def worker_process(purge_queue, spawn_worker):
    """Start real `celery worker` processes on demand; every one is killed at the end."""

    def start(tile_pairs: int = 4_000_000) -> subprocess.Popen:
        # A dead worker's tiles come back after 10 s; the settings require every task to be
        # killed before that (a tile of these pools takes milliseconds).
        return spawn_worker(
            CPUKB_MATRIX_TILE_PAIRS=str(tile_pairs),
            CPUKB_BROKER_VISIBILITY_TIMEOUT="10",
            CPUKB_TASK_SOFT_TIME_LIMIT="8",
            CPUKB_TASK_TIME_LIMIT="9",
        )

    return start


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
