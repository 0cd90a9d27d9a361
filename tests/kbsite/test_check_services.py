"""scripts/check_services.py: `make test` stops at once when a service is down."""

import os

import pytest


@pytest.mark.subprocess
def test_passes_when_postgres_and_redis_answer(run_python):
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith("postgres") or not redis_url:
        pytest.fail("run with DATABASE_URL (PostgreSQL) and REDIS_URL set, as `make test` does")

    completed = run_python(
        "scripts/check_services.py",
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
        env={},
    )

    assert completed.returncode == 0, completed.stderr


@pytest.mark.subprocess
def test_names_the_fix_for_each_unreachable_service(run_python, unused_port):
    completed = run_python(
        "scripts/check_services.py",
        "--database-url",
        f"postgres://postgres:hunter2@127.0.0.1:{unused_port}/cpukb",
        "--redis-url",
        f"redis://127.0.0.1:{unused_port}/0",
        env={},
    )

    assert completed.returncode == 1
    assert "PostgreSQL at postgres://postgres:***@127.0.0.1" in completed.stderr
    assert "Redis at redis://127.0.0.1" in completed.stderr
    assert completed.stderr.count("docker compose up -d db redis") == 2
    assert "hunter2" not in completed.stderr
