"""Production settings pass Django's deployment checks, and the error views are wired in."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Production as README.md and .env.example describe it: HTTPS behind a proxy, HSTS for a year.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "kb-" + "9f3c2a7e5b1d4c6f8a0e2b4d6f8a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e",
    "ALLOWED_HOSTS": "kb.example.org",
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
