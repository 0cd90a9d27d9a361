"""Fault injection: stop and start the real PostgreSQL and Redis, always restoring them.

Every fixture that stops a service starts it again in `finally` and waits until it answers, and
a session-level guard checks both once more at the end, so a failing or interrupted test never
leaves the services down for the rest of the suite (or for anyone else using them).
"""

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import override_settings
from django.test.testcases import LiveServerThread
from rest_framework.authtoken.models import Token

from cpus import services

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "cpus" / "seed"
RESILIENCE_MIDDLEWARE = "kbsite.resilience.DatabaseUnavailableMiddleware"
SERVICE_TIMEOUT = 30.0


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "faults: stops and starts the real PostgreSQL or Redis (restored in finally)"
    )


# --- Service control --------------------------------------------------------------------------


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def _wait(condition: Callable[[], bool], what: str, timeout: float = SERVICE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout}s")


def _postgres_cluster() -> list[str]:
    versions = (
        sorted(os.listdir("/etc/postgresql"), key=int) if Path("/etc/postgresql").is_dir() else []
    )
    if not versions:
        pytest.fail(
            "these tests stop and start a local PostgreSQL with pg_ctlcluster, and "
            "/etc/postgresql holds no cluster (a docker compose database cannot be used here)"
        )
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main"]


def _database_address() -> tuple[str, str]:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return parts.hostname or "127.0.0.1", str(parts.port or 5432)


def postgres_ready() -> bool:
    host, port = _database_address()
    return _run("pg_isready", "-h", host, "-p", port, "-q").returncode == 0


def _redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)


def redis_ready() -> bool:
    try:
        return bool(_redis_client().ping())
    except redis.RedisError:
        return False


def start_postgres() -> None:
    if not postgres_ready():
        _run(*_postgres_cluster(), "start")
    _wait(postgres_ready, "PostgreSQL did not come back")
    # The connections of this process died with the server: reconnect on next use.
    connections.close_all()


def start_redis() -> None:
    if not redis_ready():
        parts = urlsplit(settings.REDIS_URL)
        _run(
            "redis-server",
            "--daemonize", "yes",
            "--bind", parts.hostname or "127.0.0.1",
            "--port", str(parts.port or 6379),
            "--save", "",
            "--appendonly", "no",
        )  # fmt: skip
    _wait(redis_ready, "Redis did not come back")


@contextmanager
def postgres_stopped() -> Iterator[None]:
    """PostgreSQL is down inside the block, and up again (and reconnected) after it."""
    cluster = _postgres_cluster()
    try:
        stopped = _run(*cluster, "stop", "--", "-m", "fast")
        assert stopped.returncode == 0, stopped.stderr
        _wait(lambda: not postgres_ready(), "PostgreSQL did not stop")
        yield
    finally:
        start_postgres()


@contextmanager
def redis_stopped() -> Iterator[None]:
    """Redis is down inside the block, and up again after it."""
    parts = urlsplit(settings.REDIS_URL)
    try:
        _run(
            "redis-cli", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379),
            "shutdown", "nosave",
        )  # fmt: skip
        _wait(lambda: not redis_ready(), "Redis did not stop")
        yield
    finally:
        start_redis()


@pytest.fixture
def redis_outage(needs_redis) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """`with redis_outage():` stops Redis for the block."""
    return redis_stopped


@pytest.fixture
def postgres_outage() -> Callable[[], contextlib.AbstractContextManager[None]]:
    """`with postgres_outage():` stops PostgreSQL for the block, then reconnects."""
    return postgres_stopped


@pytest.fixture(scope="session", autouse=True)
def _services_restored_at_the_end() -> Iterator[None]:
    yield
    if not postgres_ready():
        start_postgres()
    if settings.REDIS_URL and not redis_ready():
        start_redis()


@pytest.fixture
def needs_redis() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER or not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: these tests need the real Redis (run `make test`)")
    if not redis_ready():
        pytest.fail(f"Redis at {settings.REDIS_URL} does not answer before the test")
    return settings.REDIS_URL


# --- Data -------------------------------------------------------------------------------------


@pytest.fixture
def demo_pool(db) -> list[str]:
    """The 2008 demonstration pool (tag demo-2008), ingested as seed_catalog does."""
    services.feature_sync()
    names = []
    for entry in json.loads((SEED / "catalog.json").read_text())["hosts"]:
        if "demo-2008" not in entry["tags"]:
            continue
        services.report_ingest(
            raw=(SEED / "dumps" / entry["file"]).read_bytes(),
            host_name=entry["host"],
            tags=tuple(entry["tags"]),
            label=services.CpuLabel(
                entry["codename"], entry["microarchitecture"], entry["launch_year"]
            ),
        )
        names.append(entry["host"])
    assert len(names) >= 3
    return names


@pytest.fixture
def token(db, django_user_model) -> str:
    user = django_user_model.objects.create_user("operator", password="pw-operator-1")
    return Token.objects.create(user=user).key


# --- A live server with kbsite.resilience in its middleware -----------------------------------


@pytest.fixture
def resilient_live_server(transactional_db) -> Iterator[str]:
    """A threaded live server (like pytest-django's live_server) whose MIDDLEWARE includes
    kbsite.resilience even before settings do (issue #8). Yields its base URL."""
    middleware = list(settings.MIDDLEWARE)
    if RESILIENCE_MIDDLEWARE not in middleware:
        middleware.insert(1, RESILIENCE_MIDDLEWARE)
    with override_settings(MIDDLEWARE=middleware, ALLOWED_HOSTS=["127.0.0.1", "localhost"]):
        # The handler reads MIDDLEWARE when it is built, i.e. inside this block.
        server = LiveServerThread("127.0.0.1", lambda app: StaticFilesHandler(WSGIHandler()))
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error:
            raise server.error
        try:
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.terminate()
            server.join(timeout=10)


# --- A real Celery worker, on a Redis database of its own -------------------------------------
# Other Celery workers on REDIS_URL's database (other test runs on this machine, or tests/e2e)
# would take this test's tasks and look for the run in *their* database. The worker and whatever
# enqueues for it (the sweeper) therefore use this database number of the same Redis.
ISOLATED_REDIS_DB = 14


def isolated_redis_url() -> str:
    parts = urlsplit(settings.REDIS_URL)
    return urlunsplit(parts._replace(path=f"/{ISOLATED_REDIS_DB}"))


def worker_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (a worker must use it)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def isolated_env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": isolated_redis_url(),
    }


@pytest.fixture
def run_isolated(needs_redis) -> Callable[[str], object]:
    """Run a Python snippet with django set up on the test database and the isolated Redis
    database; it prints one JSON value last, which is returned."""

    def run(snippet: str) -> object:
        completed = subprocess.run(
            [sys.executable, "-c", "import django, json\ndjango.setup()\n" + snippet],
            cwd=ROOT,
            env={**isolated_env(), "LOG_LEVEL": "WARNING"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return json.loads(completed.stdout.strip().splitlines()[-1])

    return run


@pytest.fixture
def purge_queue(needs_redis) -> Iterator[None]:
    def purge() -> None:
        if redis_ready():
            redis.Redis.from_url(isolated_redis_url()).flushdb()

    purge()
    yield
    purge()


@pytest.fixture
def worker_process(purge_queue, spawn_worker) -> Callable[[], subprocess.Popen]:
    """Start real `celery worker` processes on demand (the isolated Redis database, the test
    database); every one is killed at the end. Their stderr is in `process.log_path`."""
    return lambda: spawn_worker(REDIS_URL=isolated_redis_url())
