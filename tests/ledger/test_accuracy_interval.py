"""The accuracy page shows its sample size and a 95 % Wilson interval, never a bare 1.00."""

import datetime

import pytest

from cpus import services as cpu_services
from migrations_log import services
from migrations_log.services import wilson_interval
from tests.samples import DUMPS


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        (1, 1, 0.2065, 1.0),  # one right answer proves little
        (2, 2, 0.3424, 1.0),
        (5, 10, 0.2366, 0.7634),
        (0, 4, 0.0, 0.4899),
        (95, 100, 0.8882, 0.9785),
    ],
)
def test_wilson_interval_matches_the_published_formula(successes, trials, low, high):
    interval = wilson_interval(successes, trials)

    assert interval == pytest.approx((low, high), abs=1e-4)


def test_no_sample_has_no_interval():
    assert wilson_interval(0, 0) is None


@pytest.mark.django_db
def test_accuracy_page_shows_the_sample_and_the_interval(client):
    reports = {
        name: cpu_services.report_ingest(raw=(DUMPS / file).read_bytes(), host_name=name)[0]
        for name, file in {
            "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
            "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
        }.items()
    }
    record = services.migration_record(
        source=reports["harpertown"],
        destination=reports["shanghai"],
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="refused-before-start",
        happened_on=datetime.date(2008, 11, 5),
    )
    assert record.predicted_verdict == "blocked"

    html = client.get("/ledger/accuracy").content.decode()
    api = client.get("/api/migrations/accuracy/").json()

    assert (
        '<strong>1.00</strong> <span class="interval">(95% interval 0.21&ndash;1.00)</span>' in html
    )
    assert "from 1 failed of 1 predicted blocked" in html
    assert "Only 1 record for kvm" in html
    kvm = next(entry for entry in api["hypervisors"] if entry["hypervisor"] == "kvm")
    assert list(kvm["blocked"]["precision_interval"]) == pytest.approx([0.2065, 1.0], abs=1e-4)
