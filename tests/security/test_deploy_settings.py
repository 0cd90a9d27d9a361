"""Production settings pass Django's deployment checks, and the error views are wired in."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Production as README.md, docs/deploy.md and .env.example describe it: PostgreSQL and Redis,
# HTTPS behind one reverse proxy that sets X-Forwarded-For and X-Forwarded-Proto, HSTS for a year.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "kb-" + "9f3c2a7e5b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e",
    "ALLOWED_HOSTS": "kb.example.org,127.0.0.1",
    "CSRF_TRUSTED_ORIGINS": "https://kb.example.org",
    "DATABASE_URL": "postgres://postgres:secret@db:5432/cpukb",
    "REDIS_URL": "redis://redis:6379/0",
    "CPUKB_TRUSTED_PROXIES": "1",
    "CPUKB_HEALTH_TOKEN": "health-" + "5d1c9e7a3b2f4e6d8c0a1b3d5f7e9a2c4b6d8f0e",
    "TRUST_X_FORWARDED_PROTO": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "DJANGO_SETTINGS_MODULE": "kbsite.settings",
}
# What `check --deploy` still reports with PRODUCTION (issue #8): no SECURE_HSTS_PRELOAD setting.
KNOWN_DEPLOY_WARNINGS: set[str] = set()


def check_deploy() -> tuple[int, str, set[str]]:
    """`manage.py check --deploy --fail-level WARNING` with only PRODUCTION settings set."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("SECURE_", "CPUKB_", "DJANGO_")) or k in PRODUCTION)
        and k not in {"DATABASE_URL", "REDIS_URL", "CSRF_TRUSTED_ORIGINS", "STATIC_ROOT"}
        and k not in {"SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "TRUST_X_FORWARDED_PROTO"}
    }
    assert len(PRODUCTION["SECRET_KEY"]) >= 50
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**env, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = completed.stdout + completed.stderr
    return completed.returncode, output, set(re.findall(r"\(([\w.]+\.[WE]\d+)\)", output))


@pytest.mark.subprocess
def test_check_deploy_passes_with_production_settings():
    returncode, output, issues = check_deploy()
    assert returncode == 0, f"check --deploy reports {sorted(issues)}:\n{output}"


@pytest.mark.subprocess
def test_check_deploy_reports_nothing_beyond_the_known_gaps():
    """Runs today: catches any new deployment warning while the known one is being fixed."""
    returncode, output, issues = check_deploy()
    assert issues <= KNOWN_DEPLOY_WARNINGS, f"new deploy issues {sorted(issues)}:\n{output}"
    assert returncode == 0 or issues, output


def test_resilience_is_wired_in(resilience_gaps):
    assert not resilience_gaps


@pytest.mark.subprocess
def test_production_settings_carry_the_shared_cache_csp_throttles_and_account_rules():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "CPUKB_"))}
    snippet = (
        "import django, json; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'cache': s.CACHES['default'], 'middleware': s.MIDDLEWARE,"
        " 'validators': [v['NAME'].rsplit('.', 1)[1] for v in s.AUTH_PASSWORD_VALIDATORS],"
        " 'backends': s.AUTHENTICATION_BACKENDS, 'proxies': s.CPUKB_TRUSTED_PROXIES,"
        " 'reset': bool(s.EMAIL_HOST)}))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=ROOT,
        env={**env, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    loaded = __import__("json").loads(completed.stdout.strip().splitlines()[-1])
    assert loaded["cache"]["BACKEND"] == "kbsite.cache.PrefixedRedisCache"
    assert loaded["cache"]["LOCATION"] == PRODUCTION["REDIS_URL"]
    assert "kbsite.csp.ContentSecurityPolicyMiddleware" in loaded["middleware"]
    middleware = loaded["middleware"]
    assert middleware.index("kbsite.throttle.PageThrottleMiddleware") > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )
    assert loaded["validators"] == [
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    ]
    assert loaded["backends"] == ["kbsite.lockout.LockoutModelBackend"]
    assert loaded["proxies"] == 1
    assert loaded["reset"] is False  # no mail server configured: no reset by e-mail
