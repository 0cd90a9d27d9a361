"""One permission table: every endpoint and method, as anonymous, another user, owner, staff."""

import json
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from cpus import services

DUMPS = Path(__file__).resolve().parents[1] / "dumps"
ROLES = ("anonymous", "other", "owner", "staff")

# (method, url template, body, expected status per role in ROLES order).  {host} and {report}
# belong to "owner"; body "raw" is a real dump to upload.
TABLE = [
    ("GET", "/api/cpu-models/", None, (200, 200, 200, 200)),
    ("GET", "/api/cpu-models/{cpu}/", None, (200, 200, 200, 200)),
    ("POST", "/api/cpu-models/", {}, (401, 405, 405, 405)),
    ("GET", "/api/features/", None, (200, 200, 200, 200)),
    ("GET", "/api/features/sse4_1/", None, (200, 200, 200, 200)),
    ("DELETE", "/api/features/sse4_1/", None, (401, 405, 405, 405)),
    ("GET", "/api/guest-models/", None, (200, 200, 200, 200)),
    ("GET", "/api/hosts/", None, (200, 200, 200, 200)),
    ("GET", "/api/hosts/{host}/", None, (200, 200, 200, 200)),
    ("POST", "/api/hosts/", {"name": "new-host", "tags": ["rack-a"]}, (401, 201, 201, 201)),
    ("PATCH", "/api/hosts/{host}/", {"notes": "moved to rack b"}, (401, 403, 200, 200)),
    ("PUT", "/api/hosts/{host}/", {"name": "renamed"}, (401, 403, 200, 200)),
    ("DELETE", "/api/hosts/{host}/", None, (401, 403, 204, 204)),
    ("GET", "/api/reports/", None, (200, 200, 200, 200)),
    ("GET", "/api/reports/{report}/", None, (200, 200, 200, 200)),
    ("POST", "/api/reports/", "raw", (401, 201, 201, 201)),
    ("PATCH", "/api/reports/{report}/", {}, (401, 405, 405, 405)),
    ("DELETE", "/api/reports/{report}/", None, (401, 403, 204, 204)),
]


@pytest.fixture
def users(django_user_model):
    return {
        "anonymous": None,
        "other": django_user_model.objects.create_user("other", password="pw-other-123"),
        "owner": django_user_model.objects.create_user("owner", password="pw-owner-123"),
        "staff": django_user_model.objects.create_user(
            "staff", password="pw-staff-123", is_staff=True
        ),
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), TABLE, ids=[f"{r[0]} {r[1]}" for r in TABLE]
)
def test_permission_table(users, role, method, url, body, expected):
    services.feature_sync()
    report, _ = services.report_ingest(
        raw=(DUMPS / "aida64_Opteron2378_Shanghai_2S_libcpuid.txt").read_bytes(),
        host_name="owned-host",
        uploaded_by=users["owner"],
    )
    client = APIClient()
    if users[role] is not None:
        client.force_authenticate(users[role])
    if body == "raw":
        body = {"raw": (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text()}
    path = url.format(host=report.host.pk, report=report.pk, cpu=report.cpu_model_id)
    data = None if body is None else json.dumps(body)
    response = client.generic(method, path, data=data, content_type="application/json")
    assert response.status_code == expected[ROLES.index(role)], response.content
    if response.status_code >= 400:
        assert {"error", "detail"} <= set(response.json())
