"""``manage.py seed_ledger``: load the documented real migration outcomes (idempotent)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from django.core.management.base import BaseCommand

from cpus.models import Host
from migrations_log import services
from migrations_log.models import MigrationRecord

SEED = Path(__file__).resolve().parents[2] / "data" / "seed_ledger.json"
VERSION_FIELDS = {
    "qemu": "qemu_version",
    "libvirt": "libvirt_version",
    "machine_type": "machine_type",
    "esxi": "esxi_version",
    "evc_mode": "evc_mode",
    "hyperv": "hyperv_version",
    "compatibility_mode": "compatibility_mode",
    "xen": "xen_version",
}


class Command(BaseCommand):
    help = (
        "Load the seed ledger: the 2008 KVM demonstration and real outcomes from public bug "
        "trackers and vendor documentation, each with its source URL. Records whose CPUs are not "
        "in the catalog are listed and skipped. Running it again changes nothing."
    )

    def handle(self, *args, **options):
        document = json.loads(SEED.read_text())
        hosts = {
            host.name: host
            for host in Host.objects.filter(owner=None).select_related("current_report")
        }
        added = known = 0
        skipped = []
        for entry in document["records"]:
            if MigrationRecord.objects.filter(seed_id=entry["id"]).exists():
                known += 1
                continue
            source = hosts.get(entry.get("source_cpu") or "")
            destination = hosts.get(entry.get("destination_cpu") or "")
            if source is None or destination is None or source.current_report_id is None:
                skipped.append(entry["id"])
                continue
            versions = {
                VERSION_FIELDS[key]: value
                for key, value in (entry.get("versions") or {}).items()
                if key in VERSION_FIELDS and value is not None
            }
            notes = entry.get("notes") or ""
            if entry.get("cpu_match") == "same-generation":
                notes = (
                    f"CPUs as reported: {entry.get('source_cpu_as_reported')} -> "
                    f"{entry.get('destination_cpu_as_reported')}; linked to catalog CPUs of the "
                    f"same generation. {notes}"
                )
            services.migration_record(
                source=source.current_report,
                destination=destination.current_report,
                source_host=source,
                destination_host=destination,
                guest_cpu=entry.get("guest_cpu") or "host-passthrough",
                hypervisor=entry["hypervisor"],
                outcome=entry["outcome"],
                happened_on=datetime.date.fromisoformat(entry["date"]),
                error_message=entry.get("error_message") or "",
                guest_os=(entry.get("guest_os") or "")[:100],
                downtime_ms=entry.get("downtime_ms"),
                source_url=entry.get("source_url") or "",
                notes=notes,
                seed_id=entry["id"],
                **versions,
            )
            added += 1
        self.stdout.write(f"ledger: {added} records added, {known} already known")
        if skipped:
            self.stdout.write(
                f"  {len(skipped)} documented outcomes involve CPUs not in the catalog and were "
                f"skipped: {', '.join(skipped)}"
            )
