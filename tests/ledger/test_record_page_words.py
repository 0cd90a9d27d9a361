"""Words on the ledger pages that used to mislead: who submitted a record."""

import datetime

import pytest

from cpus import services as cpu_services
from migrations_log import services
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS


@pytest.fixture
def record(db):
    source, _ = cpu_services.report_ingest(
        raw=(DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_bytes()
    )
    destination, _ = cpu_services.report_ingest(
        raw=(DUMPS / "aida64_Opteron2378_Shanghai_2S_libcpuid.txt").read_bytes()
    )
    record = services.migration_record(
        source=source,
        destination=destination,
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="refused-before-start",
        happened_on=datetime.date(2008, 11, 5),
    )
    # As a record stored before every write took an account: no submitter at all.
    MigrationRecord.objects.filter(pk=record.pk).update(submitter=None)
    record.refresh_from_db()
    return record


@pytest.mark.django_db
def test_a_visitors_record_is_not_credited_to_the_seed_ledger(client, record):
    """A record without a submitter can only predate "every write takes an account"."""
    html = client.get(f"/ledger/{record.pk}/").content.decode()

    assert record.submitter is None and not record.seed_id
    assert (
        "<dt>Submitted by</dt><dd>nobody known (recorded anonymously before writes took an "
        "account)</dd>" in html
    )
    assert "the seed ledger" not in html


@pytest.mark.django_db
def test_a_seeded_record_says_so(client, record):
    MigrationRecord.objects.filter(pk=record.pk).update(seed_id="demo-2008-kvm")
    html = client.get(f"/ledger/{record.pk}/").content.decode()

    assert "<dt>Submitted by</dt><dd>the seed ledger</dd>" in html


@pytest.mark.django_db
def test_seed_output_on_a_fresh_database_reads_as_success():
    import io

    from django.core.management import call_command

    from cpus.models import Feature

    out = io.StringIO()
    call_command("seed_catalog", stdout=out)
    text = out.getvalue()

    assert f"features: {Feature.objects.count()} known, already up to date" in text
    assert "0 rows added" not in text
    assert "were skipped" not in text
