"""A host's drift names the recorded migrations whose prediction it changes.  The catalog does
not import the ledger: the ledger answers the catalog's ``drift_affects`` signal
(migrations_log/drift.py, connected in migrations_log/apps.py).

The "after a microcode update" report is the real Cascade Lake AIDA64 dump with CPUID leaf 7
EBX bits 4 (HLE) and 11 (RTM) cleared in every CPU block: EDITED IN THIS TEST, as in
tests/cpus/test_drift.py; nothing else is changed.
"""

import datetime

import pytest

from cpus import selectors, services
from cpus.cpuid import compat
from cpus.drift import drift_affects
from cpus.models import DriftEvent, Host
from migrations_log import services as ledger
from migrations_log.drift import migrations_affected
from tests.samples import DUMPS

CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
LEAF7 = "CPUID 00000007: 00000000-D39FFFFB-"
LEAF7_NO_TSX = "CPUID 00000007: 00000000-D39FF7EB-"  # EBX & ~(1 << 4 | 1 << 11): no hle, rtm
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"  # has HLE and RTM too
OTHER = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"


@pytest.fixture
def cascade():
    before = (DUMPS / CASCADE).read_text()
    assert LEAF7 in before
    return before, before.replace(LEAF7, LEAF7_NO_TSX)  # the edit: TSX removed, marked above


@pytest.fixture
def recorded(db, cascade):
    """kvm-a (Skylake-SP) -> kvm-b (Cascade Lake), host-passthrough, and old-1 -> kvm-a."""
    before, _ = cascade
    a, _ = services.report_ingest(raw=(DUMPS / SKYLAKE).read_bytes(), host_name="kvm-a")
    b, _ = services.report_ingest(raw=before, host_name="kvm-b")
    c, _ = services.report_ingest(raw=(DUMPS / OTHER).read_bytes(), host_name="old-1")

    def record(source, destination):
        return ledger.migration_record(
            source=source,
            destination=destination,
            guest_cpu="host-passthrough",
            hypervisor="kvm",
            outcome="succeeded",
            happened_on=datetime.date(2024, 5, 1),
        )

    return record(a, b), record(c, a)


def test_drift_lists_the_records_whose_prediction_changes(recorded, cascade):
    a_to_b, _old_to_a = recorded
    _, after = cascade
    new_report, _ = services.report_ingest(raw=after, host_name="kvm-b")

    (event,) = DriftEvent.objects.all()
    now = compat.check(
        selectors.report_host_view(Host.objects.get(name="kvm-a").current_report),
        selectors.report_host_view(new_report),
        "host-passthrough",
        "kvm",
        suggest=False,
    ).verdict
    assert now != a_to_b.predicted_verdict, "pick a pair whose verdict TSX changes"
    # kvm-b is in one record only; old-1 -> kvm-a is not about the host that drifted
    assert event.affected["migrations"] == [
        {
            "id": a_to_b.pk,
            "guest_cpu": "host-passthrough",
            "hypervisor": "kvm",
            "predicted": a_to_b.predicted_verdict,
            "now": now,
        }
    ]
    assert set(event.affected) == {"pools", "matrix_runs", "migrations", "guest_models"}


def test_without_the_ledger_listening_the_catalog_lists_no_records(recorded, cascade):
    _, after = cascade
    assert drift_affects.disconnect(dispatch_uid="migrations_log.drift")
    try:
        services.report_ingest(raw=after, host_name="kvm-b")
    finally:
        drift_affects.connect(migrations_affected, dispatch_uid="migrations_log.drift")
    (event,) = DriftEvent.objects.all()
    assert event.affected["migrations"] == []
    assert event.vanished == ["hle", "rtm"]
