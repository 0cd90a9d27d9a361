"""docker-compose.yml and Dockerfile, checked statically (no Docker engine on our machines)."""

import tomllib
from pathlib import Path

import pytest
import yaml
from django.conf import settings

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


def test_compose_defines_the_five_services(services):
    assert set(services) == {"db", "redis", "web", "worker", "beat"}
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["web"]["build"] == "."
    assert services["worker"]["build"] == "."
    assert services["beat"]["build"] == "."


def test_every_service_has_a_health_check(services):
    assert "pg_isready" in healthcheck_text(services["db"])
    assert "redis-cli ping" in healthcheck_text(services["redis"])
    assert "/healthz" in healthcheck_text(services["web"])
    worker_check = healthcheck_text(services["worker"])
    assert "celery -A kbsite inspect ping" in worker_check
    assert "$${HOSTNAME}" in worker_check or "$$HOSTNAME" in worker_check
    assert "celerybeat.pid" in healthcheck_text(services["beat"])


def test_database_keeps_its_data_in_a_named_volume(services):
    volume = services["db"]["volumes"][0]
    assert volume.split(":")[1] == "/var/lib/postgresql/data"
    assert not volume.startswith((".", "/"))


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
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
    gunicorn = command.index("gunicorn -c /app/gunicorn.conf.py")
    assert migrate < collectstatic < gunicorn


def test_worker_runs_celery_and_one_beat_runs_the_schedule(services):
    assert command_text(services["worker"]).startswith("celery -A kbsite worker")
    # The schedule runs once, in its own service, so workers can be scaled.
    assert "--beat" not in command_text(services["worker"])
    beat = command_text(services["beat"])
    assert beat.startswith("celery -A kbsite beat")
    assert "--schedule /tmp/" in beat  # /app is not writable by the app user
    assert "--pidfile /tmp/celerybeat.pid" in beat
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1


@pytest.mark.parametrize("name", ["web", "worker", "beat"])
def test_a_dead_worker_s_task_is_redelivered_within_minutes(services, name):
    """The broker's visibility timeout: minutes, yet longer than the hard task time limit."""
    raw = services[name]["environment"]["CPUKB_BROKER_VISIBILITY_TIMEOUT"]
    default = int(raw.split(":-")[1].rstrip("}")) if raw.startswith("${") else int(raw)
    assert settings.CELERY_TASK_TIME_LIMIT < default <= 300


def load_gunicorn_conf() -> dict:
    namespace: dict = {"__file__": str(REPO_ROOT / "gunicorn.conf.py")}
    exec(
        compile((REPO_ROOT / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"), namespace
    )
    return namespace


def test_gunicorn_conf_uses_threaded_workers_with_timeouts(monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    conf = load_gunicorn_conf()
    assert conf["wsgi_app"] == "kbsite.wsgi:application"
    assert conf["worker_class"] == "gthread"
    assert conf["workers"] >= 2 and conf["threads"] >= 2
    assert 0 < conf["client_timeout"] < conf["timeout"] <= 60
    assert 0 < conf["keepalive"] <= 10
    assert conf["graceful_timeout"] > 0
    assert callable(conf["post_worker_init"])


def test_gunicorn_conf_reads_the_environment_and_refuses_bad_values(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    monkeypatch.setenv("GUNICORN_THREADS", "8")
    conf = load_gunicorn_conf()
    assert (conf["workers"], conf["threads"]) == (5, 8)
    monkeypatch.setenv("GUNICORN_THREADS", "many")
    with pytest.raises(SystemExit, match="GUNICORN_THREADS"):
        load_gunicorn_conf()


def test_the_image_starts_gunicorn_with_the_repository_config():
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "COPY gunicorn.conf.py /app/gunicorn.conf.py" in dockerfile
    assert 'CMD ["gunicorn", "-c", "/app/gunicorn.conf.py"]' in dockerfile


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


def test_the_image_copies_every_package_the_project_installs():
    """``pip install .`` in the image installs what pyproject.toml's package list finds in /src:
    a package left out of the COPY lines is missing at run time (the site serves
    client/cpukb.py from the installed ``client`` package)."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = [
        pattern.rstrip("*")
        for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    missing = [name for name in packages if f"COPY {name} ./{name}" not in dockerfile]
    assert packages and missing == []
