"""`make run` with nothing configured: SQLite file, DEBUG on, tasks in-process."""

import json
import sqlite3

import pytest


@pytest.mark.subprocess
def test_sqlite_default_migrates_and_serves_home_and_healthz(run_python, get_pages, tmp_path):
    database = tmp_path / "x.sqlite3"
    env = {"DEBUG": "1", "DATABASE_URL": f"sqlite:///{database}"}

    migrated = run_python("manage.py", "migrate", "--noinput", env=env)
    pages = get_pages("/", "/healthz", "/healthz?full=1", "/admin/login/", env=env)

    assert migrated.returncode == 0, migrated.stderr
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"auth_user", "authtoken_token", "django_migrations"} <= tables
    assert pages["/"]["status"] == 200
    assert "CPU Migration KB" in pages["/"]["body"]
    assert pages["/healthz"] == {"status": 200, "body": '{"status": "ok"}'}
    assert pages["/admin/login/"]["status"] == 200
    full = json.loads(pages["/healthz?full=1"]["body"])
    assert pages["/healthz?full=1"]["status"] == 200
    eager = {"status": "ok", "mode": "eager", "detail": "tasks run in-process"}
    assert full["components"] == {"database": {"status": "ok"}, "broker": eager, "workers": eager}


@pytest.mark.subprocess
def test_sqlite_default_runs_tasks_in_process(run_python, tmp_path):
    snippet = (
        "import django; django.setup()\nfrom kbsite.tasks import ping\nprint(ping.delay().get())"
    )

    completed = run_python(
        "-c", snippet, env={"DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "pong"
