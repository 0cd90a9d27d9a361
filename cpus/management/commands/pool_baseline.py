"""``manage.py pool_baseline FILE ... [--json] [--names linux|qemu|libvirt]``.

The pool's common guest CPU and its names in every tool's vocabulary.  Needs no database.
Exit status 0 on success, 2 when a report cannot be read or decoded (``FILE:LINE: reason``).
"""

from __future__ import annotations

import json
import sys
import textwrap

from django.core.management.base import BaseCommand

from cpus.cpuid import baseline, export
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY
from cpus.cpuid.vocabulary import VOCABULARIES, engine_name
from cpus.management.commands.check_pair import load_hosts


class Command(BaseCommand):
    help = (
        "Compute the baseline guest CPU of a pool of hosts (Intel and AMD may mix): features, "
        "fitted QEMU/libvirt models, EVC mode, x86-64 level and config snippets."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="host reports")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--names", choices=VOCABULARIES, default=DEFAULT_VOCABULARY.value)

    def handle(self, *args, **options):
        hosts = load_hosts(options["files"], self.stderr)
        if hosts is None:
            sys.exit(2)
        pool = baseline.compute(hosts)
        record = pool.to_dict(engine_name(options["names"]))
        record["exports"] = export.all_exports(pool)
        if options["json"]:
            self.stdout.write(json.dumps(record))
            return
        self.stdout.write(human(record))


def human(record: dict) -> str:
    vendors = ", ".join(f"{count} {vendor}" for vendor, count in record["vendors"].items())
    exports = record["exports"]
    lines = [f"Pool of {record['hosts']} host(s): {vendors}"]
    lines.append(f"  Features   {len(record['features'])}")
    lines += textwrap.wrap(
        " ".join(record["features"]), width=96, initial_indent="    ", subsequent_indent="    "
    )
    for label, key in (("QEMU", "qemu_model"), ("libvirt", "libvirt_model")):
        fitted = record[key]
        lines.append(f"  {label:<10} {fitted['spec'] if fitted else '(none)'}")
    lines.append(f"  EVC        {record['evc_mode'] or '(none for the whole pool)'}")
    for vendor, key in record["evc_modes"].items():
        lines.append(f"    {vendor:<8} {key or '(no EVC mode fits)'}")
    lines.append(f"  x86-64     {record['x86_64_level'] or '(below v1)'}")
    lines.append(f"  -cpu       {exports['qemu_cpu']}")
    lines.append("  libvirt XML")
    lines += ["    " + line for line in exports["libvirt_xml"].splitlines()]
    lines.append("  nova.conf")
    lines += ["    " + line for line in (exports["nova"]["config"] or "").splitlines()]
    lines += ["    # lost: " + item for item in exports["nova"]["lost"]]
    lines.append("  Proxmox cpu-models.conf")
    lines += ["    " + line for line in exports["proxmox"].splitlines()]
    for note in record["notes"]:
        lines += textwrap.wrap(
            note, width=96, initial_indent="  Note       ", subsequent_indent="             "
        )
    return "\n".join(lines) + "\n"
