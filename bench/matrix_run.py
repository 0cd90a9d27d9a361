"""End-to-end matrix run over a large pool: N hosts, one worker (tasks run in this process).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cpukb_bench \
        python bench/matrix_run.py [--hosts 100000] [--guest G] [--json]

Creates the database tables if needed, seeds the catalog (22 real host reports), then adds N
hosts that each point at one of those reports (round robin): a pool of N hosts over the distinct
CPU views of the catalog.  Times the whole run: preparing (loading N hosts, grouping them into
classes) and computing every tile for every hypervisor, then reading the results back.
Needs a database you can write (default: a SQLite file under var/).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbsite.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-matrix-run.sqlite3'}")
os.environ.pop("REDIS_URL", None)  # one worker: the tasks run in this process

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from cpus import services  # noqa: E402
from cpus.compat import runs as matrix_runs  # noqa: E402
from cpus.cpuid import compat  # noqa: E402
from cpus.models import Host, HostReport, MatrixRun, PoolTag  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100_000)
    parser.add_argument("--guest", default="host-passthrough")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if not HostReport.objects.exists():
        call_command("seed_catalog", verbosity=0, stdout=io.StringIO())
    catalog = services.catalog_owner()
    tag, _ = PoolTag.objects.get_or_create(name=f"bench-{args.hosts}", owner=catalog)
    existing = Host.objects.filter(tags=tag).count()
    if existing < args.hosts:
        reports = list(HostReport.objects.values_list("pk", flat=True))
        start = time.perf_counter()
        hosts = Host.objects.bulk_create(
            [
                Host(
                    name=f"bench-{args.hosts}-{i}",
                    owner=catalog,
                    current_report_id=reports[i % len(reports)],
                )
                for i in range(existing, args.hosts)
            ],
            batch_size=5000,
        )
        Host.tags.through.objects.bulk_create(
            [Host.tags.through(host_id=h.pk, pooltag_id=tag.pk) for h in hosts], batch_size=5000
        )
        seeded = time.perf_counter() - start
    else:
        seeded = 0.0
    start = time.perf_counter()
    run = matrix_runs.matrix_run_create(selection={"tag": tag.name}, guest_cpu=args.guest)
    run.refresh_from_db()
    elapsed = time.perf_counter() - start
    assert run.status == MatrixRun.Status.SUCCEEDED, run.error
    read_start = time.perf_counter()
    for hypervisor in compat.HYPERVISORS:
        matrix_runs.run_levels(run, hypervisor)
    read = time.perf_counter() - read_start
    result = {
        "hosts": len(run.host_ids),
        "classes": run.class_count,
        "tiles": run.tiles_total,
        "hypervisors": len(compat.HYPERVISORS),
        "run_seconds": round(elapsed, 3),
        "read_results_seconds": round(read, 3),
        "database": django.db.connection.vendor,
        "seed_hosts_seconds": round(seeded, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:24}{value}")


if __name__ == "__main__":
    main()
