"""One permission table: every endpoint and method, as anonymous, another user, owner, staff."""

import datetime
import json

import pytest
from rest_framework.test import APIClient

from cpus import services
from cpus.models import MatrixRun
from migrations_log import services as ledger
from tests.samples import DUMPS

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
    # The owner's report is in a ledger record: even its owner cannot delete it (409).
    ("DELETE", "/api/reports/{report}/", None, (401, 403, 409, 409)),
    ("DELETE", "/api/reports/{other_report}/", None, (401, 403, 403, 409)),
    (
        "POST",
        "/api/compat/check",
        {"source": {"report": "{report}"}, "destination": {"report": "{other_report}"}},
        (200, 200, 200, 200),
    ),
    (
        "POST",
        "/api/pools/baseline",
        {"hosts": [{"report": "{report}"}, {"report": "{other_report}"}]},
        (200, 200, 200, 200),
    ),
    (
        "POST",
        "/api/vms/preflight",
        {"vm": "<domain type='kvm'/>", "source": {"report": "{report}"}},
        (200, 200, 200, 200),
    ),
    (
        "POST",
        "/api/pools/plan",
        {"hosts": [{"report": "{report}"}], "add": [{"cpu_model": "{cpu}", "count": 2}]},
        (200, 200, 200, 200),
    ),
    ("GET", "/api/matrix-runs/", None, (200, 200, 200, 200)),
    ("POST", "/api/matrix-runs/", {"hosts": ["{host}"]}, (401, 202, 202, 202)),
    ("GET", "/api/matrix-runs/{run}/", None, (200, 200, 200, 200)),
    ("DELETE", "/api/matrix-runs/{run}/", None, (401, 405, 405, 405)),
    ("GET", "/api/migrations/", None, (200, 200, 200, 200)),
    ("GET", "/api/migrations/{record}/", None, (200, 200, 200, 200)),
    ("GET", "/api/migrations/{record}/reevaluate", None, (200, 200, 200, 200)),
    ("GET", "/api/migrations/accuracy", None, (200, 200, 200, 200)),
    ("GET", "/api/migrations/contradictions", None, (200, 200, 200, 200)),
    (
        "POST",
        "/api/migrations/explain-error",
        {"message": "Host CPU does not provide required features: svm"},
        (200, 200, 200, 200),
    ),
    (
        "POST",
        "/api/migrations/",
        {
            "source": {"report": "{report}"},
            "destination": {"report": "{other_report}"},
            "guest_cpu": "host-model",
            "hypervisor": "kvm",
            "outcome": "succeeded",
            "happened_on": "2024-01-02",
        },
        (401, 201, 201, 201),
    ),
    ("PATCH", "/api/migrations/{record}/", {"notes": "checked"}, (401, 403, 200, 200)),
    ("PUT", "/api/migrations/{record}/", {"notes": "checked"}, (401, 405, 405, 405)),
    ("DELETE", "/api/migrations/{record}/", None, (401, 403, 204, 204)),
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
    other_report, _ = services.report_ingest(
        raw=(DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_bytes()
    )
    record = ledger.migration_record(
        source=report,
        destination=other_report,
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="refused-before-start",
        happened_on=datetime.date(2024, 1, 1),
        submitter=users["owner"],
    )
    run = MatrixRun.objects.create(selection={"hosts": [report.host.pk]}, host_ids=[report.host.pk])
    ids = {
        "host": report.host.pk,
        "report": report.pk,
        "cpu": report.cpu_model_id,
        "other_report": other_report.pk,
        "record": record.pk,
        "run": run.pk,
    }
    client = APIClient()
    if users[role] is not None:
        client.force_authenticate(users[role])
    if body == "raw":
        body = {"raw": (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text()}
    path = url.format(**ids)
    data = None
    if body is not None:
        data = json.dumps(body)
        for key, value in ids.items():  # "{report}" placeholders become the ids (as numbers)
            data = data.replace(f'"{{{key}}}"', str(value))
    response = client.generic(method, path, data=data, content_type="application/json")
    assert response.status_code == expected[ROLES.index(role)], response.content
    if response.status_code >= 400:
        assert {"error", "detail"} <= set(response.json())
