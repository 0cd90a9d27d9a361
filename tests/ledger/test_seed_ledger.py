"""The seed ledger: documented real outcomes, with QEMU model stand-ins for CPUs without a dump."""

import datetime
import importlib
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from cpus.cpuid import TABLE, decode
from cpus.models import Host, HostReport
from migrations_log.models import MigrationRecord

ROOT = Path(__file__).resolve().parents[2]
LEDGER = json.loads((ROOT / "migrations_log" / "data" / "seed_ledger.json").read_text())
ENTRIES = {entry["id"]: entry for entry in LEDGER["records"]}
STANDINS = ROOT / "cpus" / "seed" / "standins"
seed_ledger = importlib.import_module("migrations_log.management.commands.seed_ledger")

# Words that name the vendor of a CPU as a source reports it.
VENDOR_WORDS = {
    "GenuineIntel": ("intel", "xeon", "sandy bridge", "ivy", "broadwell", "ice lake"),
    "AuthenticAMD": ("amd", "epyc", "ryzen", "opteron"),
}


def vendor_as_reported(text: str) -> str:
    lowered = text.lower()
    vendors = {v for v, words in VENDOR_WORDS.items() if any(w in lowered for w in words)}
    assert len(vendors) == 1, f"cannot tell the vendor of {text!r}"
    return vendors.pop()


def standin_sides():
    return [
        (entry, side, entry[f"{side}_standin"])
        for entry in LEDGER["records"]
        for side in ("source", "destination")
        if entry.get(f"{side}_standin")
    ]


@pytest.fixture
def seeded(db):
    out = io.StringIO()
    call_command("seed_catalog", stdout=out)
    return out.getvalue()


def test_seed_catalog_stores_at_least_ten_documented_records_once(seeded):
    records = list(MigrationRecord.objects.all())
    assert len(records) >= 10
    assert all(record.source_url.startswith("http") for record in records)
    assert {record.seed_id for record in records} <= set(ENTRIES)
    counts = (MigrationRecord.objects.count(), HostReport.objects.count(), Host.objects.count())
    out = io.StringIO()
    call_command("seed_catalog", stdout=out)
    assert "ledger: 0 records added" in out.getvalue()
    assert (
        MigrationRecord.objects.count(),
        HostReport.objects.count(),
        Host.objects.count(),
    ) == counts


def test_every_identifiable_record_is_stored_with_its_documented_facts(seeded):
    stored = {record.seed_id: record for record in MigrationRecord.objects.all()}
    for entry in LEDGER["records"]:
        identifiable = all(
            entry.get(f"{side}_standin") or entry.get(f"{side}_cpu")
            for side in ("source", "destination")
        )
        assert (entry["id"] in stored) == identifiable, entry["id"]
        if not identifiable:
            continue
        record = stored[entry["id"]]
        assert record.outcome == entry["outcome"]
        assert record.hypervisor == entry["hypervisor"]
        assert record.source_url == entry["source_url"]
        assert record.error_message == (entry["error_message"] or "")
        assert record.happened_on.isoformat() == (entry["date"] or entry["date_not_before"])
        if entry["date"] is None:
            assert "Date not stated by the source" in record.notes
        for side in ("source", "destination"):
            host = getattr(record, f"{side}_host")
            model = entry[f"{side}_standin"]
            if model:
                assert host.name == f"qemu-model-{model}"
                assert f"STAND-IN {side}" in record.notes
                assert {tag.name for tag in host.tags.all()} >= {"seed", "stand-in"}
            else:
                assert host.name == entry[f"{side}_cpu"]
                assert f"STAND-IN {side}" not in record.notes
            assert host.owner.username == "catalog" and host.is_curated
            assert record.submitter.username == "catalog"


def test_stand_in_reports_decode_to_the_vendor_of_the_cpu_as_reported(seeded):
    sides = standin_sides()
    assert sides
    for entry, side, model in sides:
        host = Host.objects.get(name=f"qemu-model-{model}", owner__username="catalog")
        report = host.current_report
        assert report.source.startswith(f"QEMU 7.2 model definition {model} (stand-in for ")
        assert entry[f"{side}_cpu_as_reported"] in report.source
        decoded = decode(report.raw)
        assert decoded.format == "qmp"
        assert decoded.identity.vendor == vendor_as_reported(entry[f"{side}_cpu_as_reported"])
        assert report.vendor == decoded.identity.vendor


def test_stand_in_files_are_qemu_7_2_models_regenerated_exactly():
    models = json.loads(seed_ledger.QEMU_MODELS.read_text())
    vocabulary = seed_ledger.qemu_vocabulary()
    named = seed_ledger.standin_models(LEDGER)
    assert sorted(path.name for path in STANDINS.glob("*.json")) == sorted(
        f"qemu-7.2-{model}.json" for model in named
    )
    for model in named:
        text = (STANDINS / f"qemu-7.2-{model}.json").read_text()
        assert text == seed_ledger.standin_document(model, models, vocabulary)
        expansion = models["static_expansion"][model]
        props = json.loads(text)["return"]["model"]["props"]
        assert {n for n, v in props.items() if v is True} == set(expansion["features"])
        for key, value in expansion["props"].items():
            assert props[key] == value
        # Complete: every QEMU 7.2 feature name is stated, so none of them decodes as unknown.
        decoded = decode(text)
        qemu_named = {TABLE.lookup(name, "qemu").index for name in vocabulary}
        assert not ({feature.index for feature in decoded.unknown_features} & qemu_named), model
        identity = decoded.identity
        assert (identity.vendor, identity.family, identity.model) == (
            expansion["props"]["vendor"],
            expansion["props"]["family"],
            expansion["props"]["model"],
        )


def test_the_2008_demo_is_one_hop_e5420_to_shanghai(seeded):
    record = MigrationRecord.objects.get(seed_id="amd-redhat-2008-e5420-to-shanghai")
    assert record.outcome == "succeeded"
    assert record.hypervisor == "kvm"
    assert record.happened_on == datetime.date(2008, 11, 7)
    assert record.source_host.name == "xeon-e5420-harpertown"
    assert record.destination_host.name == "opteron-2378-shanghai"
    assert "one hop" in record.notes or "Only this one hop" in record.notes
    in_2008 = MigrationRecord.objects.filter(happened_on__year=2008)
    assert list(in_2008.values_list("seed_id", flat=True)) == [record.seed_id]


def test_accuracy_endpoint_has_figures_for_kvm(seeded, client):
    body = client.get("/api/migrations/accuracy").json()
    (kvm,) = [row for row in body["hypervisors"] if row["hypervisor"] == "kvm"]
    assert kvm["total"] == MigrationRecord.objects.filter(hypervisor="kvm").count() >= 10
    matrix = kvm["confusion_matrix"]
    assert sum(sum(row.values()) for row in matrix.values()) == kvm["total"]
    assert set(kvm["blocked"]) >= {"precision", "recall"}
