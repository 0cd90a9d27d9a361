"""Settings come from the environment, and bad values stop the process at start."""

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from kbsite.env import env_bool, env_database, env_int, env_list, env_origins, env_redis_url

SETUP = "import django; django.setup()"

# Good production-shaped values; each failing case below breaks exactly one of them.
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "ALLOWED_HOSTS": "kb.example.com",
    "DATABASE_URL": "postgres://cpukb:secret@db.example.com:5432/cpukb",
    "REDIS_URL": "redis://redis.example.com:6379/0",
}


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://cpukb@db.example.com/cpukb"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgres://[db.example.com/cpukb"),
        ("DATABASE_URL", "postgres://db.example.com:5432/"),
        ("SECRET_KEY", ""),
        ("DEBUG", "maybe"),
        ("REDIS_URL", "amqp://guest@localhost//"),
        ("ALLOWED_HOSTS", ""),
        ("CSRF_TRUSTED_ORIGINS", "kb.example.com"),
        ("CPUKB_MAX_UPLOAD_BYTES", "2MB"),
        ("CPUKB_TASK_TIME_LIMIT", "10"),
        ("CPUKB_BROKER_VISIBILITY_TIMEOUT", "200"),
        ("CPUKB_THROTTLE_ANON_READS", "lots"),
        ("CPUKB_THROTTLE_LOGINS", "0/min"),
        ("CPUKB_TRUSTED_PROXIES", "-1"),
        ("CPUKB_CACHE_URL", "memcached://cache.example.com:11211"),
        ("CPUKB_LOGIN_FAILURES", "0"),
    ],
)
def test_bad_value_stops_start_naming_the_variable(run_python, variable, value):
    completed = run_python("-c", SETUP, env={**PRODUCTION_ENV, variable: value})

    assert completed.returncode != 0
    assert "ImproperlyConfigured" in completed.stderr
    assert variable in completed.stderr.strip().splitlines()[-1]


@pytest.mark.subprocess
def test_missing_secret_key_with_debug_off_fails_manage_py_check(run_python):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}

    completed = run_python("manage.py", "check", env=env)

    assert completed.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in completed.stderr


@pytest.mark.subprocess
def test_production_env_enables_whitenoise_and_manifest_storage(run_python):
    snippet = (
        SETUP + "\nfrom django.conf import settings as s\n"
        "print(s.DEBUG, 'whitenoise.middleware.WhiteNoiseMiddleware' in s.MIDDLEWARE,"
        " s.STORAGES['staticfiles']['BACKEND'], s.DATABASES['default']['ENGINE'],"
        " s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
    )

    completed = run_python("-c", snippet, env=PRODUCTION_ENV)

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [
        "False",
        "True",
        "whitenoise.storage.CompressedManifestStaticFilesStorage",
        "django.db.backends.postgresql",
        "False",
        "redis://redis.example.com:6379/0",
    ]


@pytest.mark.subprocess
def test_debug_without_secret_key_uses_development_key_and_eager_tasks(run_python):
    snippet = (
        SETUP + "\nfrom django.conf import settings as s\n"
        "print(s.DEBUG, s.SECRET_KEY.startswith('django-insecure'), s.CELERY_TASK_ALWAYS_EAGER,"
        " s.CELERY_TASK_EAGER_PROPAGATES, s.ALLOWED_HOSTS)"
    )

    completed = run_python("-c", snippet, env={"DEBUG": "1", "DATABASE_URL": "sqlite://"})

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == (
        "True True True True ['localhost', '127.0.0.1', '[::1]', 'testserver']"
    )


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_env_bool_reads_boolean_words(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_bool_uses_default_when_unset_or_blank(monkeypatch):
    monkeypatch.delenv("FLAG", raising=False)
    assert env_bool("FLAG", True) is True
    monkeypatch.setenv("FLAG", " ")
    assert env_bool("FLAG", False) is False


def test_env_int_rejects_values_below_minimum(monkeypatch):
    monkeypatch.setenv("LIMIT", "0")
    with pytest.raises(ImproperlyConfigured, match="LIMIT=0 must be at least 1"):
        env_int("LIMIT", 5, minimum=1)


def test_env_list_drops_blanks_and_keeps_an_explicit_empty_list(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example.com, ,b.example.com ")
    assert env_list("HOSTS", ["default"]) == ["a.example.com", "b.example.com"]
    monkeypatch.setenv("HOSTS", "")
    assert env_list("HOSTS", ["default"]) == []


def test_env_origins_accepts_full_origins(monkeypatch):
    monkeypatch.setenv("ORIGINS", "https://kb.example.com,http://localhost:8000")
    assert env_origins("ORIGINS") == ["https://kb.example.com", "http://localhost:8000"]


def test_env_database_default_is_sqlite_file_and_creates_its_folder(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    path = tmp_path / "var" / "cpukb.sqlite3"

    config = env_database("DATABASE_URL", path)

    assert config == {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    assert path.parent.is_dir()


def test_env_database_parses_postgres_url(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://kb:pw@db.example.com:5433/cpukb")

    config = env_database("DATABASE_URL", tmp_path / "unused.sqlite3")

    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example.com", 5433, "cpukb")
    assert (config["USER"], config["PASSWORD"]) == ("kb", "pw")


def test_env_redis_url_is_empty_when_unset_and_checked_when_set(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert env_redis_url("REDIS_URL") == ""
    monkeypatch.setenv("REDIS_URL", "rediss://cache.example.com:6380/1")
    assert env_redis_url("REDIS_URL") == "rediss://cache.example.com:6380/1"
    monkeypatch.setenv("REDIS_URL", "redis://")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL"):
        env_redis_url("REDIS_URL")
