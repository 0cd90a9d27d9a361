"""docker-compose.yml and Dockerfile, checked statically (no Docker engine on our machines)."""

from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def services() -> dict:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return compose["services"]


def command_text(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else " ".join(command)


def healthcheck_text(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def test_compose_defines_the_four_services(services):
    assert set(services) == {"db", "redis", "web", "worker"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["web"]["build"] == "."
    assert services["worker"]["build"] == "."


def test_every_service_has_a_health_check(services):
    assert "pg_isready" in healthcheck_text(services["db"])
    assert "redis-cli ping" in healthcheck_text(services["redis"])
    assert "/healthz" in healthcheck_text(services["web"])
    worker_check = healthcheck_text(services["worker"])
    assert "celery -A kbsite inspect ping" in worker_check
    assert "$${HOSTNAME}" in worker_check or "$$HOSTNAME" in worker_check


def test_database_keeps_its_data_in_a_named_volume(services):
    volume = services["db"]["volumes"][0]
    assert volume.split(":")[1] == "/var/lib/postgresql/data"
    assert not volume.startswith((".", "/"))


@pytest.mark.parametrize("name", ["web", "worker"])
def test_app_services_wait_for_healthy_db_and_redis(services, name):
    depends_on = services[name]["depends_on"]
    assert depends_on == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    environment = services[name]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@db:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"] == "redis://redis:6379/0"


def test_web_migrates_collects_static_then_runs_gunicorn(services):
    command = command_text(services["web"])
    migrate = command.index("migrate")
    collectstatic = command.index("collectstatic")
    gunicorn = command.index("gunicorn kbsite.wsgi")
    assert migrate < collectstatic < gunicorn


def test_worker_runs_celery(services):
    assert command_text(services["worker"]).startswith("celery -A kbsite worker")


def test_dockerfile_installs_the_project_and_runs_as_non_root():
    lines = [
        line.strip()
        for line in (REPO_ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert any(line.startswith("RUN pip install") and " ." in line for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
