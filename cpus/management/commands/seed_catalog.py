"""``manage.py seed_catalog``: load the shipped catalog (idempotent; run by ``make run``)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand

from cpus import services
from cpus.models import Feature, HostReport
from cpus.tasks import redecode_reports

SEED = Path(__file__).resolve().parents[2] / "seed"


class Command(BaseCommand):
    help = (
        "Load the seed catalog: the feature table, real host dumps (Harpertown, Barcelona, "
        "Shanghai ... Sapphire Rapids, Genoa) as reports, hosts and CPU models, and the named "
        "guest CPU models (QEMU, libvirt, VMware EVC, x86-64 levels). "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--libvirt-cpu-map",
            metavar="DIR",
            help="read libvirt's models from an installed cpu_map "
            "(e.g. /usr/share/libvirt/cpu_map) instead of the bundled libvirt 9.0 snapshot",
        )
        parser.add_argument(
            "--qemu",
            metavar="PATH",
            help="ask a local qemu-system-x86_64 over QMP for its models "
            "instead of the bundled 7.2 snapshot",
        )

    def handle(self, *args, **options):
        changed = services.feature_sync()
        # The features are already loaded by a migration: on a fresh database nothing changes.
        total = Feature.objects.count()
        self.stdout.write(
            f"features: {total} known"
            + (f" ({changed} added or updated now)" if changed else ", already up to date")
        )
        manifest = json.loads((SEED / "catalog.json").read_text())
        added = 0
        for entry in manifest["hosts"]:
            report, created = services.report_ingest(
                raw=(SEED / "dumps" / entry["file"]).read_bytes(),
                host_name=entry["host"],
                source=entry["source"],
                tags=tuple(entry.get("tags", ())),
                label=services.CpuLabel(
                    codename=entry.get("codename", ""),
                    microarchitecture=entry.get("microarchitecture", ""),
                    launch_year=entry.get("launch_year"),
                ),
            )
            added += created
        self.stdout.write(
            f"host reports: {added} added, {len(manifest['hosts']) - added} already known"
        )
        refreshed = services.cpu_models_refresh_assists()
        if refreshed:
            self.stdout.write(f"migration assists worked out for {refreshed} CPU models")
        guest_changed = services.guest_models_sync(
            libvirt_cpu_map=options.get("libvirt_cpu_map"), qemu_binary=options.get("qemu")
        )
        self.stdout.write(f"guest CPU models: {guest_changed} added or updated")
        if (SEED.parent.parent / "migrations_log" / "data" / "seed_ledger.json").exists():
            call_command("seed_ledger", stdout=self.stdout)
        run = services.redecode_run_start()
        if run is not None:
            redecode_reports.delay(run.pk)
            self.stdout.write(
                f"re-decoding {run.total} reports from older decoder versions (run {run.pk})"
            )
        self.stdout.write(
            self.style.SUCCESS(f"catalog ready: {HostReport.objects.count()} reports")
        )
