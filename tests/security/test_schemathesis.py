"""Property-based API tests from the OpenAPI schema (schemathesis, against the WSGI app).

Every operation of /api/schema/ gets a bounded number of generated requests (positive and
negative), sent with a token so writes get past authentication. No answer may be a 5xx, every
status code must be documented for its operation, and every body must match its schema.
The schema is used as served: the app documents every 4xx answer (kbsite/openapi.py).
"""

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kbsite.openapi import error_statuses
from kbsite.wsgi import application


def served_schema() -> dict:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def _missing_error_responses(raw: dict) -> list[str]:
    return [
        f"{method.upper()} {path} {status}"
        for path, operations in raw["paths"].items()
        for method, operation in operations.items()
        for status in error_statuses(path, method, operation)
        if status not in operation.get("responses", {})
    ]


def _host_fields_not_nullable(raw: dict) -> list[str]:
    host = raw["components"]["schemas"]["Host"]["properties"]
    return [
        f"Host.{name} is not nullable ({why})"
        for name, why in (("owner", "seed hosts have none"), ("cpu_model", "a new host has none"))
        if not host[name].get("nullable")
    ]


def _contradictions_paginated(raw: dict) -> list[str]:
    operation = raw["paths"]["/api/migrations/contradictions/"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    gaps = [] if schema.get("type") == "array" else ["contradictions documented as paginated"]
    if any(p["name"] in ("limit", "offset") for p in operation.get("parameters", [])):
        gaps.append("contradictions document limit/offset they do not honour")
    return gaps


def test_served_schema_documents_what_the_api_answers():
    """Gaps the first fuzz runs found (issue #8), fixed in the app; this keeps them fixed."""
    raw = served_schema()
    detectors = (_missing_error_responses, _host_fields_not_nullable, _contradictions_paginated)
    gaps = [gap for detect in detectors for gap in detect(raw)]
    assert not gaps, f"{len(gaps)} gaps, e.g. {gaps[:3]}"
    assert raw["components"]["schemas"]["Error"]["required"] == ["error", "code", "detail"]
    check = raw["paths"]["/api/compat/check"]["post"]["responses"]
    assert check["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


# --- Bugs the fuzz run found (issue #8), fixed; these keep them fixed.


@pytest.mark.django_db
def test_a_percent_sign_in_a_feature_filter_is_a_400(client):
    response = client.get("/api/cpu-models/", {"has_feature": "sse%"})
    assert response.status_code == 400
    assert "unknown feature sse%" in response.json()["error"]


@pytest.mark.django_db
def test_the_reports_format_filter_filters(client):
    response = client.get("/api/reports/", {"format": "aida64"})
    assert response.status_code == 200


@pytest.mark.django_db
def test_a_missing_object_is_a_404_in_the_error_shape(client):
    response = client.get("/api/cpu-models/999999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# Loaded at collection: generating the schema reads no database. (schemathesis's lazy
# `from_fixture` loader does not work with pytest 9: it sets Function._nodeid.)
schema = schemathesis.openapi.from_dict(served_schema())
schema.app = application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def _wsgi_inside_the_test_transaction(resilience_wired):
    """Call the WSGI app the way Django's test client does.

    A real WSGI request ends with `request_finished`, whose `close_old_connections` would close
    the connection that holds the test's transaction; the test client disconnects it too.
    """
    cache.clear()  # write-throttle counters of earlier tests
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(
    case, some_hosts, token_user, _wsgi_inside_the_test_transaction
):
    case.call_and_validate(
        headers={"Authorization": f"Token {token_user.token.key}"}, checks=CHECKS
    )
