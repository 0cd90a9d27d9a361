"""``manage.py explain_error [--json] MESSAGE``: what a migration error message means.

MESSAGE is the error text (several arguments are joined with spaces, so quoting is optional);
``-`` reads it from standard input, which suits whole log excerpts.  Needs no database.

Exit status: 0 when the message was recognised, 1 when it was not, 2 on bad input (an empty
message, one over 64 KiB, or standard input that is not UTF-8).
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from migrations_log.explain import MAX_MESSAGE_BYTES, explain


class Command(BaseCommand):
    help = (
        "Explain a live-migration error message of QEMU, KVM, libvirt, VMware, Hyper-V or Xen: "
        "the hypervisor, the axis (features, vendor, address bits, XSAVE, TSC, nested virt...), "
        "the CPU features involved in Linux names, and what to do. '-' reads the message from "
        "standard input. Exit status 0 when recognised, 1 when not, 2 on bad input."
    )
    requires_system_checks: list = []
    # call_command(..., stdin=io.StringIO(...)) feeds '-' in tests, as createsuperuser does.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument(
            "message", nargs="+", metavar="MESSAGE", help="the error message; - for stdin"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the explanation as one JSON object",
        )

    def handle(self, *args, **options):
        message = self._message(options["message"], options.get("stdin") or sys.stdin)
        if not message.strip():
            raise CommandError("the message is empty", returncode=2)
        try:
            explanation = explain(message)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from error
        if options["json"]:
            self.stdout.write(json.dumps(explanation.to_dict()))
        else:
            self.stdout.write(_human(explanation))
        if not explanation.matched:
            sys.exit(1)

    def _message(self, parts: list[str], stdin) -> str:
        if parts != ["-"]:
            return " ".join(parts)
        raw = stdin.buffer.read(MAX_MESSAGE_BYTES + 1) if hasattr(stdin, "buffer") else None
        if raw is None:  # a text stream (tests pass io.StringIO)
            return stdin.read(MAX_MESSAGE_BYTES + 1)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise CommandError(
                f"standard input is not UTF-8 text (byte {error.start})", returncode=2
            ) from error


def _human(explanation) -> str:
    if not explanation.matched:
        return explanation.summary
    lines = [
        f"Hypervisor: {explanation.hypervisor}",
        f"Axis:       {explanation.axis}",
        f"Features:   {', '.join(explanation.features) or '(none named)'}",
    ]
    if explanation.unresolved:
        lines.append(f"Unknown:    {', '.join(explanation.unresolved)}")
    for warning in explanation.warnings:
        lines.append(f"Note:       {warning}")
    lines.append(f"Rule:       {explanation.pattern}")
    lines.append("")
    lines.append(explanation.summary)
    return "\n".join(lines)
