"""The ledger's preview (issue 17) writes nothing: pasted dumps are decoded in memory and judged as
the reports they would be once stored (no INSERT rolled back), and the preview's prediction is
the one a save then stores."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cpus import services as cpu_services
from cpus.models import FeatureSet, HostReport
from migrations_log import services
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

pytestmark = pytest.mark.django_db


HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"  # with VMX/stack facts of its own
QEMU_SSSE3 = "warning: host doesn't support requested feature: CPUID.01H:ECX.ssse3 [bit 9]"
WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT", "RELEASE", "ROLLBACK")


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


def form(**sides) -> dict:
    return {
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "refused-before-start",
        "happened_on": "2008-11-05",
        "error_message": QEMU_SSSE3,
        **sides,
    }


@pytest.fixture
def counts():
    def count() -> tuple[int, int, int]:
        return (
            HostReport.objects.count(),
            FeatureSet.objects.count(),
            MigrationRecord.objects.count(),
        )

    return count


@pytest.mark.parametrize("guest_cpu", ["host-passthrough", "baseline", "Opteron_G2,-svm"])
def test_a_preview_of_pasted_dumps_writes_nothing_and_predicts_what_a_save_stores(
    member_client, counts, guest_cpu
):
    cpu_services.feature_sync()
    data = form(
        source_raw=(DUMPS / HARPERTOWN).read_text(),
        destination_raw=(DUMPS / BARCELONA).read_text(),
        guest_cpu=guest_cpu,
    )
    before = counts()
    with CaptureQueriesContext(connection) as queries:
        response = member_client.post("/ledger/record/", {**data, "preview": "1"})
    assert response.status_code == 200
    assert writes(queries.captured_queries) == []
    assert counts() == before
    preview = response.context["preview"]
    assert preview["explanation"] and "ssse3" in str(preview["explanation"])

    saved = member_client.post("/ledger/record/", {**data, "save": "1"})
    assert saved.status_code == 302
    record = MigrationRecord.objects.get()
    assert record.prediction == preview["prediction"]
    assert record.predicted_verdict == preview["prediction"]["verdict"]


def test_a_preview_with_a_dump_stored_before_uses_the_stored_report(member_client, counts):
    cpu_services.feature_sync()
    stored, _ = cpu_services.report_ingest(
        raw=(DUMPS / HARPERTOWN).read_bytes(), host_name="harpertown"
    )
    data = form(
        source_raw=(DUMPS / HARPERTOWN).read_text(),
        destination_raw=(DUMPS / BARCELONA).read_text(),
    )
    before = counts()
    with CaptureQueriesContext(connection) as queries:
        preview = services.migration_preview(
            source={"raw": data["source_raw"]},
            destination={"raw": data["destination_raw"]},
            guest_cpu="host-passthrough",
            hypervisor="kvm",
        )
    assert writes(queries.captured_queries) == []
    assert counts() == before
    assert preview["prediction"]["source"] == "harpertown"  # the stored report's host

    member_client.post("/ledger/record/", {**data, "save": "1"})
    record = MigrationRecord.objects.get()
    assert record.source_report_id == stored.pk
    assert record.prediction == preview["prediction"]


def test_a_preview_of_a_bad_dump_says_why_and_writes_nothing(member_client, counts):
    cpu_services.feature_sync()
    before = counts()
    with CaptureQueriesContext(connection) as queries:
        response = member_client.post(
            "/ledger/record/",
            {
                **form(source_raw="not a dump\n", destination_raw=(DUMPS / BARCELONA).read_text()),
                "preview": "1",
            },
        )
    assert response.status_code == 400
    assert "could not be decoded" in response.content.decode()
    assert writes(queries.captured_queries) == []
    assert counts() == before
