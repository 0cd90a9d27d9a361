"""Reports are deduplicated by their text, so one report may be the current report of several
users' hosts.  Deleting it must not leave another user's host without one: 409, nothing
deleted; once no other user's host uses it, its uploader may delete it."""

import pytest
from rest_framework.test import APIClient

from cpus.models import Host, HostReport
from tests.samples import DUMPS

E5420 = (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text()
NAPLES = (DUMPS / "libcpuidraw_EPYC7551P_Naples.txt").read_text()


@pytest.fixture
def clients(db, django_user_model):
    made = {}
    for name in ("alice", "bob", "staff"):
        user = django_user_model.objects.create_user(
            name, password=f"pw-{name}-12345", is_staff=name == "staff"
        )
        made[name] = APIClient()
        made[name].force_authenticate(user)
    return made


def test_a_shared_report_cannot_be_deleted_from_under_another_users_host(clients):
    first = clients["alice"].post("/api/reports/", {"raw": E5420, "host_name": "a1"}, format="json")
    again = clients["bob"].post("/api/reports/", {"raw": E5420, "host_name": "b1"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    report = first.json()["id"]
    assert again.json()["id"] == report
    for who in ("alice", "staff"):
        refused = clients[who].delete(f"/api/reports/{report}/")
        assert refused.status_code == 409, refused.json()
        assert refused.json()["code"] == "shared"
        assert "1 host of other users" in refused.json()["error"]
    assert clients["bob"].delete(f"/api/reports/{report}/").status_code == 403  # not his upload
    assert Host.objects.get(name="b1").current_report_id == report

    # Bob moves his host to another report: now Alice may delete hers.
    other = clients["bob"].post("/api/reports/", {"raw": NAPLES}, format="json").json()["id"]
    bobs = Host.objects.get(name="b1")
    moved = clients["bob"].patch(f"/api/hosts/{bobs.pk}/", {"current_report": other}, format="json")
    assert moved.status_code == 200
    assert clients["alice"].delete(f"/api/reports/{report}/").status_code == 204
    assert not HostReport.objects.filter(pk=report).exists()
    assert Host.objects.get(name="a1").current_report_id is None  # her own host: her choice
    assert Host.objects.get(name="b1").current_report_id == other
