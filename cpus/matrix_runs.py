"""Matrix runs: the pairwise compatibility of a pool, computed as tiles by Celery workers.

The flow (each step idempotent, so a redelivered or repeated task does no harm):
``matrix_run_create`` stores the pool and enqueues ``prepare`` on commit; ``prepare`` groups the
hosts into classes (hosts with the same CPU view get the same answers), plans the tiles and
enqueues one task per tile; each ``tile`` computes its rows of the class matrix for every
hypervisor, stores them, and the last one to finish marks the run succeeded.  ``sweep`` resumes
runs that stopped making progress (a worker died) and fails them after a few attempts.
"""

from __future__ import annotations

import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cpus import selectors
from cpus.cpuid import baseline, compat, matrix
from cpus.models import Host, HostReport, MatrixRun, MatrixTile

HYPERVISORS = compat.HYPERVISORS
STALE_AFTER = datetime.timedelta(minutes=2)
MAX_ATTEMPTS = 3


class PoolError(ValueError):
    pass


def _hosts_of(selection: dict):
    hosts = Host.objects.exclude(current_report=None).order_by("name", "id")
    if selection.get("all"):
        return hosts
    if "tag" in selection:
        return hosts.filter(tags__name=selection["tag"])
    if "hosts" in selection:
        return hosts.filter(pk__in=selection["hosts"])
    raise PoolError('choose the pool: {"hosts": [ids]}, {"tag": name} or {"all": true}')


def matrix_run_create(
    *, selection: dict, guest_cpu: str = "host-passthrough", user=None
) -> MatrixRun:
    compat.parse_guest_cpu(guest_cpu)  # a bad guest CPU is refused before anything is stored
    hosts = list(_hosts_of(selection).values_list("pk", "name"))
    if "hosts" in selection:
        missing = set(selection["hosts"]) - {pk for pk, _ in hosts}
        if missing:
            raise PoolError(f"no host with a report among ids {sorted(missing)}")
    if not hosts:
        raise PoolError("the pool has no host with a report")
    run = MatrixRun.objects.create(
        selection=selection,
        guest_cpu=guest_cpu,
        host_ids=[pk for pk, _ in hosts],
        host_labels=[name for _, name in hosts],
        created_by=user if getattr(user, "is_authenticated", False) else None,
    )
    from cpus.tasks import matrix_run_prepare

    # robust: if the broker is down the run stays pending, and the sweeper enqueues it once the
    # broker is back; the request still answers 202 with the stored run.
    transaction.on_commit(lambda: matrix_run_prepare.delay(run.pk), robust=True)
    return run


def _views(report_ids: list[int]) -> list:
    reports = (
        HostReport.objects.select_related("feature_set", "host").defer("raw").in_bulk(report_ids)
    )
    return [selectors.report_host_view(reports[pk]) for pk in report_ids]


def matrix_run_prepare(run: MatrixRun) -> list[int]:
    """Group the hosts into classes and plan the tiles; returns the tile indexes to compute."""
    if run.class_reports:  # already prepared (a redelivered task): only what is missing
        return _missing_tiles(run)
    report_of_host = dict(
        Host.objects.filter(pk__in=run.host_ids).values_list("pk", "current_report_id")
    )
    report_ids = sorted({report_of_host[pk] for pk in run.host_ids if report_of_host.get(pk)})
    views = _views(report_ids)
    representatives, report_class = matrix.classes_of(views)
    class_of_report = dict(zip(report_ids, report_class.tolist(), strict=True))
    first_report = {}
    for report_id, cls in class_of_report.items():
        first_report.setdefault(cls, report_id)
    members = np.array([class_of_report[report_of_host[pk]] for pk in run.host_ids], dtype="<i4")
    classes = len(representatives)
    rows_per_tile = _rows_per_tile(classes)
    total = (classes + rows_per_tile - 1) // rows_per_tile
    now = timezone.now()
    MatrixRun.objects.filter(pk=run.pk).update(
        class_reports=[first_report[c] for c in range(classes)],
        members=members.tobytes(),
        tiles_total=total,
        status=MatrixRun.Status.RUNNING,
        started_at=now,
        heartbeat=now,
    )
    run.refresh_from_db()
    return list(range(total))


def _missing_tiles(run: MatrixRun) -> list[int]:
    done = set(run.tiles.values_list("index", flat=True))
    return [index for index in range(run.tiles_total) if index not in done]


def _rows_per_tile(classes: int) -> int:
    """Source classes per tile: CPUKB_MATRIX_TILE_PAIRS class pairs (default 4 million, a few
    hundred milliseconds of numpy work)."""
    return max(1, settings.CPUKB_MATRIX_TILE_PAIRS // max(classes, 1))


def tile_bounds(run: MatrixRun, index: int) -> tuple[int, int]:
    classes = run.class_count
    rows_per_tile = _rows_per_tile(classes)
    return index * rows_per_tile, min(classes, (index + 1) * rows_per_tile)


def _pool(run: MatrixRun, views: list) -> list:
    """Every host's view (class representatives repeated), for the baseline guest CPU."""
    members = np.frombuffer(bytes(run.members), dtype="<i4")
    return [views[c] for c in members.tolist()]


def matrix_run_tile(run: MatrixRun, index: int) -> bool:
    """Compute and store one tile (again, if it exists); True when the run is now complete."""
    start, stop = tile_bounds(run, index)
    views = _views(run.class_reports)
    guest = compat.parse_guest_cpu(run.guest_cpu)
    pool = baseline.compute(_pool(run, views)) if guest.mode == compat.BASELINE else None
    levels, missing = [], []
    for hypervisor in HYPERVISORS:
        tile_levels, tile_missing = matrix.class_matrix(
            views, guest, hypervisor, pool, rows=(start, stop)
        )
        levels.append(tile_levels)
        missing.append(tile_missing.astype("<u2"))
    with transaction.atomic():
        MatrixTile.objects.update_or_create(
            run=run,
            index=index,
            defaults={
                "start": start,
                "stop": stop,
                "levels": np.stack(levels).astype(np.uint8).tobytes(),
                "missing": np.stack(missing).tobytes(),
            },
        )
        done = run.tiles.count()
        MatrixRun.objects.filter(pk=run.pk).update(tiles_done=done, heartbeat=timezone.now())
        if done == run.tiles_total:
            MatrixRun.objects.filter(pk=run.pk, status=MatrixRun.Status.RUNNING).update(
                status=MatrixRun.Status.SUCCEEDED, finished_at=timezone.now()
            )
            return True
    return False


def matrix_run_fail(run: MatrixRun, error: str) -> None:
    MatrixRun.objects.filter(pk=run.pk).exclude(status=MatrixRun.Status.SUCCEEDED).update(
        status=MatrixRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def matrix_run_sweep(*, stale_after: datetime.timedelta = STALE_AFTER) -> dict[str, list[int]]:
    """Resume runs without progress for ``stale_after`` (their worker died); fail them after
    ``MAX_ATTEMPTS`` resumptions.  Returns the ids resumed and failed."""
    from cpus.tasks import matrix_run_prepare
    from cpus.tasks import matrix_run_tile as tile_task

    cutoff = timezone.now() - stale_after
    resumed, failed = [], []
    candidates = MatrixRun.objects.filter(
        status__in=[MatrixRun.Status.PENDING, MatrixRun.Status.RUNNING]
    )
    for run in candidates:
        last = run.heartbeat or run.created_at
        if last >= cutoff:
            continue
        if run.attempts >= MAX_ATTEMPTS:
            matrix_run_fail(
                run, f"no progress after {MAX_ATTEMPTS} resumptions; the workers may be down"
            )
            failed.append(run.pk)
            continue
        MatrixRun.objects.filter(pk=run.pk).update(
            attempts=F("attempts") + 1, heartbeat=timezone.now()
        )
        if not run.class_reports:
            matrix_run_prepare.delay(run.pk)
        else:
            for index in _missing_tiles(run):
                tile_task.delay(run.pk, index)
        resumed.append(run.pk)
    return {"resumed": resumed, "failed": failed}


def run_levels(run: MatrixRun, hypervisor: str) -> tuple[np.ndarray, np.ndarray]:
    """The class x class (levels, missing) of a finished run for one hypervisor."""
    position = HYPERVISORS.index(hypervisor)
    classes = run.class_count
    levels = np.zeros((classes, classes), dtype=np.uint8)
    missing = np.zeros((classes, classes), dtype=np.uint16)
    for tile in run.tiles.all():
        rows = tile.stop - tile.start
        tile_levels = np.frombuffer(bytes(tile.levels), dtype=np.uint8).reshape(
            len(HYPERVISORS), rows, classes
        )
        tile_missing = np.frombuffer(bytes(tile.missing), dtype="<u2").reshape(
            len(HYPERVISORS), rows, classes
        )
        levels[tile.start : tile.stop] = tile_levels[position]
        missing[tile.start : tile.stop] = tile_missing[position]
    return levels, missing


def members_of(run: MatrixRun) -> np.ndarray:
    return np.frombuffer(bytes(run.members), dtype="<i4")


def run_cell(
    run: MatrixRun, source: int, destination: int, hypervisor: str, vocabulary: str = "canonical"
):
    """Full reasons for one host pair (indexes into ``run.host_ids``), from the engine."""
    members = members_of(run)
    views = _views(run.class_reports)
    guest = compat.parse_guest_cpu(run.guest_cpu)
    pool = _pool(run, views) if guest.mode == compat.BASELINE else None
    source_view, destination_view = views[members[source]], views[members[destination]]
    labels = run.host_labels
    from dataclasses import replace

    return compat.check(
        replace(source_view, label=labels[source]),
        replace(destination_view, label=labels[destination]),
        guest,
        hypervisor,
        pool=pool,
        vocabulary=vocabulary,
    )
