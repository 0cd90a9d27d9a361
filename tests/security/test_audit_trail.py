"""The audit trail: who changed what and when, on the host, report, record and pool tag pages
and in the API detail answers."""

import pytest
from rest_framework.test import APIClient

from cpus.models import AuditEvent, Host, HostReport
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

E5420 = (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text()


@pytest.fixture
def alice(db, django_user_model):
    user = django_user_model.objects.create_user("alice", password="pw-alice-12345")
    client = APIClient()
    client.force_authenticate(user)
    client.force_login(user)
    return client


def test_uploads_host_changes_and_records_leave_a_trail(alice, some_hosts):
    upload = alice.post("/api/reports/", {"raw": E5420, "host_name": "rack7"}, format="json")
    assert upload.status_code == 201
    report = HostReport.objects.get(pk=upload.json()["id"])
    host = Host.objects.get(name="rack7")
    assert [(e["actor"], e["action"]) for e in upload.json()["history"]] == [("alice", "uploaded")]

    patched = alice.patch(
        f"/api/hosts/{host.pk}/", {"notes": "moved", "tags": ["rack-a"]}, format="json"
    )
    assert patched.status_code == 200
    detail = alice.get(f"/api/hosts/{host.pk}/").json()
    actions = [(e["actor"], e["action"], e["summary"]) for e in detail["history"]]
    assert ("alice", "updated", "changed notes") in actions
    assert ("alice", "tags changed", "tags: rack-a") in actions
    assert ("alice", "created", f"current report {report.pk}") in actions

    record = alice.post(
        "/api/migrations/",
        {
            "source": {"host": "rack7"},
            "destination": {"host": "opteron-2378-shanghai"},
            "guest_cpu": "host-passthrough",
            "hypervisor": "kvm",
            "outcome": "refused-before-start",
            "happened_on": "2024-01-02",
        },
        format="json",
    )
    assert record.status_code == 201, record.json()
    pk = record.json()["id"]
    assert (
        alice.patch(f"/api/migrations/{pk}/", {"notes": "checked"}, format="json").status_code
        == 200
    )
    trail = alice.get(f"/api/migrations/{pk}/").json()["history"]
    assert [(e["actor"], e["action"]) for e in trail] == [
        ("alice", "updated"),
        ("alice", "recorded"),
    ]

    # The pages show the same trail.
    for url in (f"/hosts/{host.pk}/", f"/reports/{report.pk}/", f"/ledger/{pk}/"):
        page = alice.get(url).content.decode()
        assert "<h2>History</h2>" in page and "<td>alice</td>" in page, url
    assert alice.delete(f"/api/migrations/{pk}/").status_code == 204
    deleted = AuditEvent.objects.get(object_type="record", object_id=pk, action="deleted")
    assert deleted.actor_name == "alice" and not MigrationRecord.objects.filter(pk=pk).exists()


def test_seeded_rows_are_attributed_to_the_catalog(some_hosts, client):
    host = Host.objects.get(name="xeon-e5462-harpertown")
    page = client.get(f"/hosts/{host.pk}/").content.decode()
    assert "the catalog (system)" in page
    assert AuditEvent.objects.filter(object_type="pool-tag", actor_name="catalog").exists()
    tag_page = client.get("/compat/?tag=demo-2008").content.decode()
    assert "History of this tag" in tag_page and "tag demo-2008" in tag_page


def test_a_refused_write_leaves_no_event(alice, some_hosts):
    before = AuditEvent.objects.count()
    bad = alice.post("/api/reports/", {"raw": "not a dump"}, format="json")
    assert bad.status_code == 400
    other = APIClient().post("/api/reports/", {"raw": E5420}, format="json")
    assert other.status_code == 401
    assert AuditEvent.objects.count() == before
