"""The ledger's re-evaluation: records keep the engine version that made their prediction; the
re-evaluation lists those whose verdict changes under the current engine and whether the new
verdict agrees with the real outcome (fixed, broken, changed)."""

import datetime

import pytest

from cpus import services as cpu_services
from cpus.cpuid import compat
from migrations_log import services
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

FILES = {
    "naples": "libcpuidraw_EPYC7551P_Naples.txt",
    "genoa": "aida64_EPYC9124_Genoa_libcpuid.txt",
    "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
}
DAY = datetime.date(2024, 5, 1)


@pytest.fixture
def reports(db):
    return {
        name: cpu_services.report_ingest(raw=(DUMPS / file).read_bytes(), host_name=name)[0]
        for name, file in FILES.items()
    }


def record(reports, source, destination, guest_cpu, hypervisor, outcome):
    return services.migration_record(
        source=reports[source],
        destination=reports[destination],
        guest_cpu=guest_cpu,
        hypervisor=hypervisor,
        outcome=outcome,
        happened_on=DAY,
    )


def as_if_an_older_engine_said(stored: MigrationRecord, verdict: str) -> None:
    """What an earlier engine stored (engine 1.1 refused Zen hosts from lower EVC modes)."""
    prediction = {**stored.prediction, "verdict": verdict, "engine_version": "1.1"}
    MigrationRecord.objects.filter(pk=stored.pk).update(
        predicted_verdict=verdict, prediction=prediction, engine_version="1.1"
    )


@pytest.mark.django_db
def test_the_reevaluation_lists_changed_records_and_whether_they_now_agree(reports, client):
    # Naples -> Genoa at Opteron Gen 2 on VMware: today admitted (AMD-V), once "blocked".
    fixed = record(reports, "naples", "genoa", "amd-rev-f", "vmware", "succeeded")
    assert fixed.predicted_verdict == "safe-with-model"
    as_if_an_older_engine_said(fixed, "blocked")
    # The same migration failed another day: the old "blocked" agreed, today's contradicts.
    broken = record(reports, "naples", "genoa", "amd-rev-f", "vmware", "failed-during")
    as_if_an_older_engine_said(broken, "blocked")
    # Unchanged: passthrough across vendors is blocked then and now.
    same = record(
        reports, "harpertown", "shanghai", "host-passthrough", "kvm", "refused-before-start"
    )

    changed = services.reevaluation(MigrationRecord.objects.all())
    by_record = {entry.record.pk: entry for entry in changed}
    assert set(by_record) == {fixed.pk, broken.pk} and same.pk not in by_record
    assert by_record[fixed.pk].effect == "fixed"
    assert (by_record[fixed.pk].agreed, by_record[fixed.pk].agrees) == (False, True)
    assert by_record[broken.pk].effect == "broken"
    entry = by_record[fixed.pk].to_dict()
    assert entry["stored"] == {
        "verdict": "blocked",
        "engine_version": "1.1",
        "agrees_with_outcome": False,
    }
    assert entry["current"]["verdict"] == "safe-with-model"
    assert entry["current"]["engine_version"] == compat.ENGINE_VERSION

    body = client.get("/api/migrations/reevaluation").json()
    assert body["records"] == 3 and body["engine_version"] == compat.ENGINE_VERSION
    assert {(c["record"], c["effect"]) for c in body["changed"]} == {
        (fixed.pk, "fixed"),
        (broken.pk, "broken"),
    }
    page = client.get("/ledger/reevaluation").content.decode()
    assert "<strong>1</strong> fixed" in page and "<strong>1</strong> broken" in page
    assert f"/ledger/{fixed.pk}/" in page and f"/ledger/{same.pk}/" not in page
    assert "1.1" in page


@pytest.mark.parametrize(
    ("verdict", "outcome", "agrees"),
    [
        ("safe", "succeeded", True),
        ("safe-with-model", "failed-during", False),
        ("blocked", "refused-before-start", True),
        ("blocked", "succeeded-with-issues", False),
        ("risky", "guest-crashed-after", True),
        ("unpredictable", "succeeded", None),
    ],
)
def test_agreement_follows_the_contradiction_rule(verdict, outcome, agrees):
    assert services.verdict_agrees(verdict, outcome) is agrees
