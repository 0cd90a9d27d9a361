"""Suite-wide test setup.

Settings come from the environment like in production (`make test` passes DEBUG=0, a test-only
SECRET_KEY, DATABASE_URL=$TEST_DATABASE_URL and REDIS_URL). Tests that need Redis or a Celery
worker fail, never skip, when REDIS_URL is missing: see tests/kbsite/conftest.py.
"""

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[1]
CELERY_WORKER = [
    sys.executable, "-m", "celery", "-A", "kbsite", "worker", "--pool=solo",
    "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
]  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def _static_files_without_collectstatic() -> Iterator[None]:
    """Serve static URLs without the manifest that only `collectstatic` writes.

    Session-scoped on purpose: an autouse function-scoped fixture would trip Hypothesis's
    function_scoped_fixture health check in every @given test of the suite.
    """
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield


def _worker_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created (a worker must use it)."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture
def spawn_worker(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """``spawn_worker(**env)`` starts a real ``celery worker`` (solo pool) on the test database,
    with extra environment variables; its stderr is in ``process.log_path``.  Every worker is
    killed, with its process group, at the end.  Suites wrap this in their own fixture to purge
    the queue they use first."""
    started: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        log_path = tmp_path / f"worker-{len(started)}.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                CELERY_WORKER,
                cwd=ROOT,
                env={
                    **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
                    "DATABASE_URL": _worker_database_url(),
                    **env,
                },
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        process.log_path = log_path
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """Each test starts with no throttle or login-lockout counts left by earlier ones, and a
    transactional test starts with the Feature rows.

    A hook rather than an autouse fixture (see above). With REDIS_URL the cache is shared and
    clears only its own keys (kbsite/cache.py), never the Celery queue in the same database.

    The Feature rows are written by migrate only (cpus/feature_rows.py), and Django's flush after
    a ``serialized_rollback`` test sends no post_migrate: the next transactional test without it
    (a Celery worker test) would find the table empty, where a migrated database never is.  They
    are loaded after the test's fixtures are set up, as post_migrate would have.
    """
    import contextlib

    from django.core.cache import cache

    # Redis down (the fault tests): nothing is counted there either.
    with contextlib.suppress(Exception):
        cache.clear()
    result = yield
    marker = item.get_closest_marker("django_db")
    if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
        from cpus.feature_rows import load_feature_rows

        load_feature_rows(sender=None)
    return result


@pytest.fixture
def member_client(db, client, django_user_model):
    """The Django test client signed in as an ordinary account ("member"): every HTML form that
    stores something takes an account (kbsite/writes.py)."""
    client.force_login(django_user_model.objects.create_user("member", password="pw-member-123"))
    return client
