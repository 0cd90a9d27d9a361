"""Fixtures for the security tests: a few real hosts, a user with an API token."""

import importlib
import json
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cpus import services
from kbsite import resilience as kb_resilience

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "cpus" / "seed"
# The 2008 demonstration pool and one newer host of each vendor: enough for every API to have
# something real to answer about, cheap enough to ingest for every test.
SEED_HOSTS = (
    "xeon-e5462-harpertown",
    "opteron-2350-barcelona",
    "opteron-2378-shanghai",
    "epyc-milan-kvm-guest",
)


@pytest.fixture
def some_hosts(db) -> list[str]:
    """Ingest a few seed dumps through the service, as seed_catalog does."""
    manifest = {
        entry["host"]: entry for entry in json.loads((SEED / "catalog.json").read_text())["hosts"]
    }
    services.feature_sync()
    for name in SEED_HOSTS:
        entry = manifest[name]
        services.report_ingest(
            raw=(SEED / "dumps" / entry["file"]).read_bytes(),
            host_name=name,
            tags=tuple(entry["tags"]),
            label=services.CpuLabel(
                entry["codename"], entry["microarchitecture"], entry["launch_year"]
            ),
        )
    return list(SEED_HOSTS)


@pytest.fixture
def token_user(db, django_user_model):
    user = django_user_model.objects.create_user("fuzzer", password="pw-fuzzer-1")
    user.token = Token.objects.create(user=user)
    return user


@pytest.fixture
def api(token_user) -> APIClient:
    """A client that authenticates with the token header, like a real tool."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_user.token.key}")
    client.user = token_user
    return client


# --- kbsite.resilience until it is wired into settings and urls (issue #8) --------------------
MIDDLEWARE_PATH = "kbsite.resilience.DatabaseUnavailableMiddleware"
HANDLERS = {"handler400": kb_resilience.bad_request, "handler404": kb_resilience.not_found}


def _resilience_gaps() -> list[str]:
    """What kbsite/settings.py and kbsite/urls.py still lack; empty once issue #8 is applied."""
    gaps = []
    if MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        gaps.append(f"MIDDLEWARE lacks {MIDDLEWARE_PATH!r}")
    urls = importlib.import_module(settings.ROOT_URLCONF)
    for name, view in HANDLERS.items():
        if getattr(urls, name, None) not in (f"kbsite.resilience.{view.__name__}", view):
            gaps.append(f"{settings.ROOT_URLCONF}.{name} is not kbsite.resilience.{view.__name__}")
    return gaps


def resilience_overrides() -> dict:
    """Settings that wire kbsite.resilience in for a test: nothing once the app does it."""
    overrides = {}
    if MIDDLEWARE_PATH not in settings.MIDDLEWARE:
        overrides["MIDDLEWARE"] = [
            settings.MIDDLEWARE[0],
            MIDDLEWARE_PATH,
            *settings.MIDDLEWARE[1:],
        ]
    urls = importlib.import_module(settings.ROOT_URLCONF)
    if any(gap.startswith(settings.ROOT_URLCONF) for gap in _resilience_gaps()):
        shim = types.ModuleType("kbsite_urls_with_resilience")
        shim.__dict__.update(vars(urls))
        shim.__dict__.update(HANDLERS)
        overrides["ROOT_URLCONF"] = shim
    return overrides


@pytest.fixture
def resilience_wired() -> Iterator[None]:
    """kbsite.resilience's middleware and error views, as issue #8 asks settings/urls to add."""
    with override_settings(**resilience_overrides()):
        yield


@pytest.fixture
def resilience_gaps() -> list[str]:
    return _resilience_gaps()
