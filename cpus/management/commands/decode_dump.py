"""``manage.py decode_dump FILE [FILE ...] [--json] [--names linux|qemu|libvirt]``."""

from __future__ import annotations

import json
import sys
import textwrap

from django.conf import settings
from django.core.management.base import BaseCommand

from cpus.cpuid import FORMATS, DumpParseError, decode
from cpus.cpuid.vocabulary import CANONICAL, VOCABULARIES, engine_name
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY

JSON_KEYS = (
    "path",
    "format",
    "vendor",
    "family",
    "model",
    "stepping",
    "brand",
    "phys_bits",
    "virt_bits",
    "in_vm",
)


class Command(BaseCommand):
    help = (
        "Decode host reports (cpuid -r, AIDA64, libcpuid, libvirt XML, /proc/cpuinfo, lscpu, QMP, "
        "x86info) and print identity and features. '-' reads standard input. Needs no database. "
        "Exit status 0 when every file decoded, 2 when any failed (FILE:LINE: reason on stderr)."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="dump files; - for stdin")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument(
            "--names",
            choices=VOCABULARIES,
            default=DEFAULT_VOCABULARY.value,
            help="feature vocabulary (default: linux, as in /proc/cpuinfo)",
        )

    def handle(self, *args, **options):
        failed = False
        vocabulary = engine_name(options["names"])
        for path in options["files"]:
            try:
                data = self._read(path)
                decoded = decode(data, max_bytes=settings.CPUKB_MAX_UPLOAD_BYTES)
            except DumpParseError as error:
                failed = True
                self.stderr.write(f"{path}:{error.line or 0}: {error.reason}")
                continue
            except OSError as error:
                failed = True
                self.stderr.write(f"{path}:0: cannot read: {error.strerror or error}")
                continue
            if options["json"]:
                self.stdout.write(json.dumps(_json_record(path, decoded, vocabulary)))
            else:
                self.stdout.write(_human(path, decoded, vocabulary))
        if failed:
            sys.exit(2)

    def _read(self, path: str) -> bytes:
        if path == "-":
            return sys.stdin.buffer.read(settings.CPUKB_MAX_UPLOAD_BYTES + 1)
        with open(path, "rb") as handle:
            return handle.read(settings.CPUKB_MAX_UPLOAD_BYTES + 1)


def _json_record(path: str, decoded, vocabulary: str) -> dict:
    identity = decoded.identity.to_dict()
    record = {"path": path, "format": decoded.format}
    record.update({key: identity[key] for key in JSON_KEYS[2:]})
    record["features"] = decoded.feature_names(vocabulary)
    record["unknown"] = decoded.absent_means_unknown
    record["warnings"] = list(decoded.warnings)
    return record


def _human(path: str, decoded, vocabulary: str) -> str:
    identity = decoded.identity
    signature = f" (signature {identity.signature:08x})" if identity.signature is not None else ""
    features = decoded.feature_names(vocabulary)
    hypervisor = f" ({identity.hypervisor_vendor})" if identity.hypervisor_vendor else ""
    names = DEFAULT_VOCABULARY.value if vocabulary == CANONICAL else vocabulary
    lines = [
        f"{path}: {FORMATS[decoded.format][0]}",
        f"  CPU        {identity.vendor} family {identity.family} model {identity.model} "
        f"stepping {identity.stepping}{signature}",
        f"  Brand      {identity.brand or '(none in the report)'}",
        f"  Addresses  {identity.phys_bits or '?'} bits physical, "
        f"{identity.virt_bits or '?'} bits virtual",
        f"  In a VM    {'yes' + hypervisor if identity.in_vm else 'no'}",
        f"  Features   {len(features)} ({names} names)",
    ]
    lines += textwrap.wrap(
        " ".join(features), width=96, initial_indent="    ", subsequent_indent="    "
    )
    if decoded.absent_means_unknown:
        lines.append("  Unknown    features this report does not name may still be present")
    for warning in decoded.warnings:
        lines += textwrap.wrap(
            warning, width=96, initial_indent="  Warning    ", subsequent_indent="             "
        )
    return "\n".join(lines) + "\n"
