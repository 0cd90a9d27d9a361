"""``manage.py import_dumps PATH [PATH ...]``: import dump files or folders into the catalog."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from cpus import services
from cpus.cpuid import DumpParseError
from cpus.cpuid.formats import MAX_BYTES


class Command(BaseCommand):
    help = (
        "Import host reports from files or folders (recursively), with a progress bar and a "
        "summary: imported, already known, failed (file, line and reason). "
        "Exit status 2 when any failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--tag", action="append", default=[], help="pool tag for the hosts (repeatable)"
        )
        parser.add_argument(
            "--hosts", action="store_true", help="also create a host per file, named after the file"
        )

    def handle(self, *args, **options):
        files = sorted(self._files(options["paths"]))
        imported = known = 0
        failures: list[str] = []
        for number, path in enumerate(files, start=1):
            self._progress(number, len(files), path)
            try:
                data = path.read_bytes()[: MAX_BYTES + 1]
                _, created = services.report_ingest(
                    raw=data,
                    host_name=path.stem if options["hosts"] else "",
                    source=f"import_dumps {path.name}",
                    tags=tuple(options["tag"]),
                )
            except DumpParseError as error:
                failures.append(f"{path}:{error.line or 0}: {error.reason}")
                continue
            except OSError as error:
                failures.append(f"{path}:0: cannot read: {error.strerror or error}")
                continue
            imported += created
            known += not created
        if files:
            self.stderr.write("")
        self.stdout.write(f"imported: {imported}, already known: {known}, failed: {len(failures)}")
        for failure in failures:
            self.stdout.write(f"  {failure}")
        if failures:
            sys.exit(2)

    def _files(self, paths):
        for name in paths:
            path = Path(name)
            if path.is_dir():
                yield from (
                    p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                )
            else:
                yield path

    def _progress(self, number: int, total: int, path: Path) -> None:
        width = 30
        filled = width * number // total
        bar = "#" * filled + "-" * (width - filled)
        self.stderr.write(f"\r[{bar}] {number}/{total} {path.name[:40]:40}", ending="")
        self.stderr.flush()
