"""``manage.py check_pair SRC DST [--guest G] [--hypervisor H] [--json] [--names N]``.

Needs no database.  Exit status 0 when the verdict was computed (whatever it is); 2 when a
report cannot be read or decoded (``FILE:LINE: reason`` on stderr) or the guest CPU is unknown.
"""

from __future__ import annotations

import json
import sys
import textwrap

from django.conf import settings
from django.core.management.base import BaseCommand

from cpus.cpuid import DumpParseError, decode
from cpus.cpuid.baseline import HostView, host_view
from cpus.cpuid.compat import HYPERV_COMPATIBILITY, HYPERVISORS, GuestCpuError, check
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY
from cpus.cpuid.vocabulary import VOCABULARIES, engine_name


def load_hosts(paths: list[str], stderr) -> list[HostView] | None:
    """Decode every report; print ``FILE:LINE: reason`` for each failure and return None."""
    hosts = []
    failed = False
    limit = settings.CPUKB_MAX_UPLOAD_BYTES
    for path in paths:
        try:
            with open(path, "rb") as handle:
                hosts.append(host_view(decode(handle.read(limit + 1), max_bytes=limit), path))
        except DumpParseError as error:
            failed = True
            stderr.write(f"{path}:{error.line or 0}: {error.reason}")
        except OSError as error:
            failed = True
            stderr.write(f"{path}:0: cannot read: {error.strerror or error}")
    return None if failed else hosts


class Command(BaseCommand):
    help = (
        "Can a VM live-migrate from host SRC to host DST (directed)?  Prints the verdict (safe, "
        "safe-with-model, risky, blocked) and the reasons.  Needs no database."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("source", metavar="SRC", help="host report of the source")
        parser.add_argument("destination", metavar="DST", help="host report of the destination")
        parser.add_argument(
            "--guest",
            default="host-passthrough",
            help="host-passthrough (default), host-model, baseline (of SRC and DST) or a named "
            "model such as 'Opteron_G2,-rdtscp' or 'intel-penryn'",
        )
        parser.add_argument("--hypervisor", choices=HYPERVISORS, default="kvm")
        parser.add_argument(
            "--hyperv-compatibility",
            choices=HYPERV_COMPATIBILITY,
            default=None,
            help="Hyper-V processor compatibility mode (dynamic: the features common to SRC and "
            "DST)",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--names", choices=VOCABULARIES, default=DEFAULT_VOCABULARY.value)

    def handle(self, *args, **options):
        hosts = load_hosts([options["source"], options["destination"]], self.stderr)
        if hosts is None:
            sys.exit(2)
        source, destination = hosts
        try:
            verdict = check(
                source,
                destination,
                options["guest"],
                options["hypervisor"],
                vocabulary=engine_name(options["names"]),
                hyperv_compatibility=options["hyperv_compatibility"],
            )
        except GuestCpuError as error:
            self.stderr.write(f"--guest: {error}")
            sys.exit(2)
        except ValueError as error:
            self.stderr.write(f"--hyperv-compatibility: {error}")
            sys.exit(2)
        if options["json"]:
            self.stdout.write(json.dumps(verdict.to_dict()))
            return
        self.stdout.write(human(verdict))


def human(verdict) -> str:
    lines = [
        f"{verdict.source} -> {verdict.destination}",
        f"  Verdict    {verdict.verdict.upper()} ({verdict.hypervisor}, guest CPU "
        f"{verdict.guest_cpu}{f' = {verdict.guest_model}' if verdict.guest_model else ''})",
    ]
    for reason in verdict.reasons:
        lines += textwrap.wrap(
            f"[{reason.severity}] {reason.axis}: {reason.message}",
            width=96,
            initial_indent="  ",
            subsequent_indent="      ",
        )
    if verdict.suggestion:
        lines += textwrap.wrap(
            f"Suggestion: {verdict.suggestion['message']}",
            width=96,
            initial_indent="  ",
            subsequent_indent="      ",
        )
    return "\n".join(lines) + "\n"
