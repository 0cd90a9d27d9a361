"""Import speed: ``manage.py import_dumps`` on a generated collection of 1,000+ files.

    DATABASE_URL=postgres://... python bench/import_dumps.py [--per-sample N] [--copies N]
        [--jobs N]

The collection (tests/cpus/dump_corpus.py) is copies of the project's real samples under varied
names, folders and layouts, exact duplicates and junk files.  The bench imports it twice into
the database named by DATABASE_URL (use a fresh scratch database; the reports stay) and prints
the counts, the wall time and files per second of a first import (mostly added) and a second
one (all duplicates).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # dump_corpus finds the samples through tests.samples
_spec = importlib.util.spec_from_file_location(
    "dump_corpus", ROOT / "tests" / "cpus" / "dump_corpus.py"
)
dump_corpus = sys.modules.setdefault("dump_corpus", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(dump_corpus)


def run(folder: Path, jobs: int) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "manage.py", "import_dumps", str(folder), "--jobs", str(jobs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    summary = next(line for line in result.stdout.splitlines() if line.startswith("added:"))
    return elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-sample", type=int, default=15)
    parser.add_argument("--copies", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        corpus = dump_corpus.generate(Path(folder), args.per_sample, args.copies, junk_rounds=5)
        print(
            f"collection: {corpus.files:,} files ({corpus.distinct:,} distinct reports, "
            f"{corpus.duplicates:,} duplicates, {corpus.refused} junk); "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
        )
        for label in ("first import", "second import (all known)"):
            elapsed, summary = run(Path(folder), args.jobs)
            print(f"{label:28} {elapsed:6.1f} s  {corpus.files / elapsed:7.0f} files/s  {summary}")


if __name__ == "__main__":
    main()
