"""``manage.py compat_matrix FILE ... [--guest G] [--hypervisor H] [--json]``.

Every directed pair of the hosts: row = source, column = destination.  JSON:
``{"hosts": [...], "verdicts": [[level, ...], ...], "missing": [[count, ...], ...]}`` where
``missing`` counts the guest's features the destination lacks.  Needs no database.  Exit status
0 on success, 2 when a report cannot be read or decoded (``FILE:LINE: reason``).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from cpus.cpuid import matrix
from cpus.cpuid.compat import HYPERV_COMPATIBILITY, HYPERVISORS, GuestCpuError
from cpus.cpuid.levels import LEVELS
from cpus.management.commands.check_pair import load_hosts
from kbsite.verdicts import BY_LEVEL

SYMBOLS = {level: BY_LEVEL[level].symbol for level in LEVELS}


class Command(BaseCommand):
    help = (
        "Directed compatibility matrix of hosts (row = source, column = destination) for one "
        "guest CPU and hypervisor.  'baseline' means the baseline of all the given hosts."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="host reports")
        parser.add_argument("--guest", default="host-passthrough")
        parser.add_argument("--hypervisor", choices=HYPERVISORS, default="kvm")
        parser.add_argument(
            "--hyperv-compatibility",
            choices=HYPERV_COMPATIBILITY,
            default=None,
            help="Hyper-V processor compatibility mode (dynamic: the hosts' common features)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args, **options):
        hosts = load_hosts(options["files"], self.stderr)
        if hosts is None:
            sys.exit(2)
        try:
            result = matrix.compute(
                hosts,
                options["guest"],
                options["hypervisor"],
                hyperv_compatibility=options["hyperv_compatibility"],
            )
        except GuestCpuError as error:
            self.stderr.write(f"--guest: {error}")
            sys.exit(2)
        except ValueError as error:
            self.stderr.write(f"--hyperv-compatibility: {error}")
            sys.exit(2)
        record = result.to_dict()
        if options["json"]:
            self.stdout.write(json.dumps(record))
            return
        lines = [
            f"{record['guest_cpu']} on {record['hypervisor']}: row = source, column = "
            "destination; S safe, M safe-with-model, R risky, X blocked (missing features)"
        ]
        for i, path in enumerate(record["hosts"]):
            cells = " ".join(
                f"{SYMBOLS[level]}{count:>3}"
                for level, count in zip(record["verdicts"][i], record["missing"][i], strict=True)
            )
            lines.append(f"  {i:>3} {cells}  {path}")
        self.stdout.write("\n".join(lines) + "\n")
