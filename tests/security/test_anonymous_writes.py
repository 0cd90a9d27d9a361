"""One rule for writes: every HTML form that stores something takes an account, as the API does.

An anonymous visitor sees each form page with a "sign in to ..." notice; an anonymous POST is
sent to the login page (with the reason shown there) and stores nothing.  GET forms that only
read (pool baseline, what-if, pair check) stay open."""

import pytest
from rest_framework.test import APIClient

from cpus.models import Host, HostReport, MatrixRun
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

E5420 = DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt"


def stored() -> tuple[int, int, int, int]:
    return (
        HostReport.objects.count(),
        Host.objects.count(),
        MigrationRecord.objects.count(),
        MatrixRun.objects.count(),
    )


@pytest.mark.parametrize(
    ("url", "notice"),
    [
        ("/reports/upload/", "Sign in to upload a host report."),
        ("/ledger/record/", "Sign in to record a migration."),
    ],
)
def test_anonymous_visitors_see_the_form_page_with_a_sign_in_notice(client, db, url, notice):
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert notice in page
    assert f'href="/accounts/login/?next={url.replace("/", "%2F")}"' in page
    assert 'type="submit"' not in page.split("<main>")[1]  # no submit button to press


def test_signed_in_users_see_the_form_without_the_notice(member_client):
    page = member_client.get("/reports/upload/").content.decode()
    assert "Sign in to upload" not in page and "Decode and add" in page


def test_anonymous_upload_is_refused_and_stores_nothing(client, some_hosts):
    curated = Host.objects.get(name="xeon-e5462-harpertown")
    before = stored(), curated.current_report_id
    response = client.post(
        "/reports/upload/", {"raw": E5420.read_text(), "host_name": "xeon-e5462-harpertown"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/reports/upload/"
    curated.refresh_from_db()
    assert (stored(), curated.current_report_id) == before
    login = client.get(response["Location"]).content.decode()
    assert "Sign in to upload a host report: nothing was stored." in login


@pytest.mark.parametrize("button", ["save", "preview"])
def test_anonymous_ledger_record_is_refused_and_stores_nothing(client, some_hosts, button):
    harpertown = Host.objects.get(name="xeon-e5462-harpertown")
    before = stored()
    response = client.post(
        "/ledger/record/",
        {
            "source_host": harpertown.pk,
            "destination_raw": E5420.read_text(),
            "guest_cpu": "host-passthrough",
            "hypervisor": "kvm",
            "outcome": "succeeded",
            "happened_on": "2024-01-02",
            button: "1",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/ledger/record/"
    assert stored() == before


def test_anonymous_matrix_run_form_is_refused_and_starts_nothing(client, some_hosts):
    before = stored()
    response = client.post("/compat/runs/", {"tag": "demo-2008", "guest_cpu": "baseline"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/compat/"
    assert stored() == before
    pool = client.get("/compat/?tag=demo-2008").content.decode()
    assert "Sign in to run the matrix" in pool and "Run the matrix</button>" not in pool


def test_anonymous_matrix_run_over_the_api_is_401(some_hosts):
    response = APIClient().post("/api/matrix-runs/", {"tag": "demo-2008"}, format="json")
    assert response.status_code == 401
    assert MatrixRun.objects.count() == 0


def test_read_only_forms_stay_open_to_anonymous_visitors(client, some_hosts):
    ids = list(Host.objects.filter(name__contains="-").values_list("pk", flat=True)[:2])
    assert client.get("/compat/?tag=demo-2008").status_code == 200
    assert client.get(f"/compat/pair/?source={ids[0]}&destination={ids[1]}").status_code == 200
    check = APIClient().post(
        "/api/compat/check",
        {"source": {"host": "xeon-e5462-harpertown"}, "destination": {"raw": E5420.read_text()}},
        format="json",
    )
    assert check.status_code == 200
    assert HostReport.objects.count() == len(some_hosts)  # the inline dump was not stored
