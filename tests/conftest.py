"""Suite-wide test setup.

Settings come from the environment like in production (`make test` passes DEBUG=0, a test-only
SECRET_KEY, DATABASE_URL=$TEST_DATABASE_URL and REDIS_URL). Tests that need Redis or a Celery
worker fail, never skip, when REDIS_URL is missing: see tests/kbsite/conftest.py.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.test import override_settings


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
