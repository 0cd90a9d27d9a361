"""Issue 19: no query runs away. Every PostgreSQL connection carries statement_timeout
(CPUKB_DB_STATEMENT_TIMEOUT_MS), and a request whose statement PostgreSQL cancels answers 503
in the error shape (JSON under /api/, a page elsewhere), not a 500. Proved with a real
``pg_sleep`` on the test database."""

import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.test import override_settings
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from kbsite import urls as site_urls


def _sleep_seconds() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(5)")
    return 5


@api_view(["GET"])
@permission_classes([AllowAny])
def api_sleep(request):
    return Response({"slept": _sleep_seconds()})


def page_sleep(request):
    return JsonResponse({"slept": _sleep_seconds()})


urlpatterns = [
    path("api/test-sleep/", api_sleep),
    path("test-sleep/", page_sleep),
    *site_urls.urlpatterns,
]
handler400 = site_urls.handler400
handler404 = site_urls.handler404


def _show_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@pytest.fixture
def short_timeout(transactional_db):
    """Reconnect with a 300 ms statement_timeout, as CPUKB_DB_STATEMENT_TIMEOUT_MS=300 would."""
    options = connection.settings_dict.setdefault("OPTIONS", {})
    saved = options.get("options")
    connection.close()
    options["options"] = "-c statement_timeout=300"
    with override_settings(CPUKB_DB_STATEMENT_TIMEOUT_MS=300, ROOT_URLCONF=sys.modules[__name__]):
        yield
    connection.close()
    options["options"] = saved


@pytest.mark.django_db
def test_every_connection_carries_the_configured_statement_timeout():
    assert settings.CPUKB_DB_STATEMENT_TIMEOUT_MS == 15_000  # the default, unset in the tests
    assert _show_timeout() == "15s"


def test_a_runaway_api_query_is_cancelled_and_answers_503_json(client, short_timeout):
    assert _show_timeout() == "300ms"
    started = time.perf_counter()
    response = client.get("/api/test-sleep/")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "query_timeout" and "300 ms" in body["error"]
    assert set(body) >= {"error", "code", "detail"}
    assert response["Retry-After"]
    assert elapsed < 3  # cancelled at 300 ms, not after pg_sleep's 5 s
    # The connection is usable again for the next request.
    assert client.get("/api/cpu-models/").status_code == 200


def test_a_runaway_page_query_answers_a_503_page(client, short_timeout):
    response = client.get("/test-sleep/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "300 ms" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_workers_use_their_own_longer_timeout():
    from kbsite.celery import _worker_statement_timeout

    options = settings.DATABASES["default"]["OPTIONS"]
    saved = options["options"]
    try:
        _worker_statement_timeout()
        assert options["options"].endswith(
            f"-c statement_timeout={settings.CPUKB_WORKER_STATEMENT_TIMEOUT_MS}"
        )
        connection.close()  # a new connection, as a worker process opens
        with connection.cursor() as cursor:
            cursor.execute("SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'")
            assert cursor.fetchone()[0] == settings.CPUKB_WORKER_STATEMENT_TIMEOUT_MS
        assert settings.CPUKB_WORKER_STATEMENT_TIMEOUT_MS > settings.CPUKB_DB_STATEMENT_TIMEOUT_MS
        assert settings.CPUKB_WORKER_STATEMENT_TIMEOUT_MS < settings.CELERY_TASK_TIME_LIMIT * 1000
    finally:
        options["options"] = saved
        connection.close()
