"""``manage.py import_dumps PATH [PATH ...]``: import dump files or folders into the catalog.

Built for whole public collections (thousands of files in many layouts):

* files are read and decoded in a pool of worker processes (the pure core, no database), in
  chunks, while the main process stores the results in order;
* each file is stored in its own transaction (``services.report_ingest``), so an interruption
  leaves every file either wholly stored or not at all; a rerun skips what is already stored
  (the same text is one report) and completes the rest;
* Ctrl-C (SIGINT) stops cleanly: workers ignore it, the main process stops taking results,
  cancels what is queued, prints the summary so far and exits with status 130;
* a progress bar on stderr, a summary on stdout: added, duplicate, refused (one line per refused
  file with its line and reason).  Exit status 2 when any file was refused.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from cpus import services
from cpus.cpuid import bulk
from cpus.models import HostReport

# Below this many files the pool's start-up costs more than it saves.
POOL_THRESHOLD = 32
CHUNK = 64


class Command(BaseCommand):
    help = (
        "Import host reports from files or folders (recursively), decoding in parallel, with a "
        "progress bar and a summary: added, duplicate, refused (file, line and reason). "
        "Each file is stored in its own transaction; Ctrl-C stops cleanly. "
        "Exit status 2 when any file was refused, 130 when interrupted."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--tag", action="append", default=[], help="pool tag for the hosts (repeatable)"
        )
        parser.add_argument(
            "--hosts", action="store_true", help="also create a host per file, named after the file"
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=0,
            help="decoding processes (default: one per CPU; 1 decodes in this process)",
        )

    def handle(self, *args, **options):
        files = sorted(self._files(options["paths"]))
        self.added = self.duplicate = 0
        self.refused: list[str] = []
        self.refusals: dict[str, str] = {}
        self.options = options
        started = time.monotonic()
        interrupted = False
        previous = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, self._interrupt)
        self.stop = False
        try:
            for number, result in enumerate(self._results(files, options["jobs"]), start=1):
                self._store(*result)
                self._progress(number, len(files), result[0])
                if self.stop:
                    interrupted = True
                    break
        finally:
            signal.signal(signal.SIGINT, previous)
        if files:
            self.stderr.write("")
        done = self.added + self.duplicate + len(self.refused)
        elapsed = time.monotonic() - started
        if interrupted:
            self.stdout.write(f"interrupted after {done} of {len(files)} files")
        self.stdout.write(
            f"added: {self.added}, duplicate: {self.duplicate}, refused: {len(self.refused)} "
            f"({done} files in {elapsed:.1f} s)"
        )
        for refusal in self.refused:
            self.stdout.write(f"  {refusal}")
        if interrupted:
            sys.exit(130)
        if self.refused:
            sys.exit(2)

    def _interrupt(self, signum, frame):
        self.stop = True

    def _results(self, files: list[Path], jobs: int):
        """(path, data, decoded, refusal, sha256) per file, in order.  Files whose text is
        already stored (or earlier in this run) are not decoded again: data is None for them."""
        names = [str(path) for path in files]
        # The main process (storing) and PostgreSQL need a core each; the rest decode.
        jobs = jobs or max(1, (os.cpu_count() or 1) - 2)
        pool = None
        if jobs > 1 and len(names) >= POOL_THRESHOLD:
            # Fresh worker interpreters (cpus.cpuid.bulk says why), all started now.
            pool = ProcessPoolExecutor(
                max_workers=jobs, mp_context=bulk.context(), initializer=bulk.ignore_sigint
            )
            list(pool.map(abs, range(jobs * 2)))
        self.seen: dict[str, str] = {}
        try:
            # Chunks keep the queue short, so an interruption cancels the rest at once; the next
            # chunk is submitted before this one is stored, so decoding overlaps the writes.
            chunks = [names[start : start + CHUNK] for start in range(0, len(names), CHUNK)]
            pending = self._submit(pool, chunks[0]) if chunks else []
            for index in range(len(chunks)):
                current = pending
                if index + 1 < len(chunks):
                    pending = self._submit(pool, chunks[index + 1])
                for path, data, outcome, sha in current:
                    decoded, refusal = outcome.result() if hasattr(outcome, "result") else outcome
                    yield path, data, decoded, refusal, sha
                    if self.stop:
                        return
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, pool, names: list[str]) -> list:
        read = []
        for name in names:
            try:
                with open(name, "rb") as handle:
                    data = handle.read(settings.CPUKB_MAX_UPLOAD_BYTES + 1)
            except OSError as error:
                read.append((name, None, f"0: cannot read: {error.strerror or error}"))
                continue
            read.append((name, data, hashlib.sha256(data).hexdigest()))
        shas = [sha for _, data, sha in read if data is not None]
        stored = set(HostReport.objects.filter(sha256__in=shas).values_list("sha256", flat=True))
        entries = []
        for name, data, sha in read:
            if data is None:  # sha holds the refusal
                entries.append((name, None, (None, sha), None))
            elif (sha in stored or sha in self.seen) and not self.options["hosts"]:
                entries.append((name, None, (None, None), sha))  # a duplicate: not decoded
            else:
                self.seen.setdefault(sha, name)
                limit = settings.CPUKB_MAX_UPLOAD_BYTES
                outcome = (
                    pool.submit(bulk.decode_one, data, limit)
                    if pool
                    else bulk.decode_one(data, limit)
                )
                entries.append((name, data, outcome, sha))
        return entries

    def _store(self, path, data, decoded, refusal, sha) -> None:
        if refusal is not None:
            self.refused.append(f"{path}:{refusal}")
            if sha:
                self.refusals[sha] = refusal
            return
        if data is None:  # the same text as a stored file, or as an earlier refused one
            if sha in self.refusals:
                self.refused.append(f"{path}:{self.refusals[sha]}")
            else:
                self.duplicate += 1
            return
        try:
            _, created = services.report_ingest(
                raw=data,
                host_name=Path(path).stem if self.options["hosts"] else "",
                source=f"import_dumps {Path(path).name}",
                tags=tuple(self.options["tag"]),
                decoded=decoded,
            )
        except bulk.DumpParseError as error:
            self.refused.append(f"{path}:{error.line or 0}: {error.reason}")
            self.refusals[sha] = f"{error.line or 0}: {error.reason}"
            return
        except UnicodeDecodeError:  # decode() checked UTF-8 already; kept as a refusal anyway
            self.refused.append(f"{path}:0: not UTF-8 text")
            return
        self.added += created
        self.duplicate += not created

    def _files(self, paths):
        for name in paths:
            path = Path(name)
            if path.is_dir():
                yield from (
                    p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                )
            else:
                yield path

    def _progress(self, number: int, total: int, path: str) -> None:
        if number != total and number % 10:
            return  # redraw every 10 files: a terminal write per file costs more than a decode
        width = 30
        filled = width * number // total
        bar = "#" * filled + "-" * (width - filled)
        self.stderr.write(f"\r[{bar}] {number}/{total} {Path(path).name[:40]:40}", ending="")
        self.stderr.flush()
