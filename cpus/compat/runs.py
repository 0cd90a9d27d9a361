"""Matrix runs: the pairwise compatibility of a pool, computed as tiles by Celery workers.

The flow (each step idempotent, so a redelivered or repeated task does no harm):
``matrix_run_create`` stores the pool and enqueues ``prepare`` on commit; ``prepare`` groups the
hosts into classes (hosts with the same CPU view get the same answers), plans the tiles and
enqueues one task per tile; each ``tile`` computes its rows of the class matrix for every
hypervisor, stores them, and the last one to finish marks the run succeeded.  ``sweep`` resumes
runs that stopped making progress (a worker died) and fails them after a few attempts.

Completion is derived from the stored tiles, never counted in memory: a tile is stored and the
tiles are counted while the run's row is locked (``SELECT ... FOR UPDATE``), so with any number
of worker processes the last tile to commit sees every other one (issue 19: two processes
could each count one short of the total, leaving a finished run "running" until the sweeper
failed it). The sweeper and ``matrix_run_fail`` finish a run whose tiles are all stored instead
of failing it. Hosts deleted (or left without a report) before a run is prepared are skipped
and named in ``notes``.
"""

from __future__ import annotations

import datetime

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from cpus import selectors, services
from cpus.cpuid import baseline, compat, matrix, policies
from cpus.models import Host, HostReport, MatrixRun, MatrixTile
from kbsite.celery import enqueue

HYPERVISORS = policies.HYPERVISORS
STALE_AFTER = datetime.timedelta(minutes=2)
MAX_ATTEMPTS = 3


def _enqueue(task: str, *args) -> None:
    """Queue one of ``cpus.compat.tasks``: the tasks call this module, so it names them."""
    enqueue(f"cpus.compat.tasks.{task}", *args)


class PoolError(ValueError):
    pass


class RunDataGone(PoolError):
    """A report the run's classes were built from has been deleted since."""


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
    # robust: if the broker is down the run stays pending, and the sweeper enqueues it once the
    # broker is back; the request still answers 202 with the stored run.
    transaction.on_commit(lambda: _enqueue("matrix_run_prepare", run.pk), robust=True)
    return run


def matrix_run_start(*, selection: dict, guest_cpu: str, user) -> MatrixRun:
    """Start a matrix run; a pool tag means the user's own tag of that name, else the curated
    one (never another user's), and the run's selection says which one was used:
    ``{"tag": name, "tag_owner": username, "hosts": [ids]}``."""
    compat.parse_guest_cpu(guest_cpu)  # a bad guest CPU is refused first, as for host ids
    if "tag" not in selection:
        return matrix_run_create(selection=selection, guest_cpu=guest_cpu, user=user)
    pool_tag = services.pool_tag_resolve(selection["tag"], user)
    if pool_tag is None:
        raise PoolError(f"no pool tag {selection['tag']!r} of yours or of the catalog")
    ids = list(
        Host.objects.filter(tags=pool_tag).exclude(current_report=None).values_list("pk", flat=True)
    )
    if not ids:
        raise PoolError("the pool has no host with a report")
    with transaction.atomic():  # the run is queued once its selection says which tag it used
        run = matrix_run_create(selection={"hosts": ids}, guest_cpu=guest_cpu, user=user)
        run.selection = {"tag": pool_tag.name, "tag_owner": pool_tag.owner.username, "hosts": ids}
        MatrixRun.objects.filter(pk=run.pk).update(selection=run.selection)
    return run


def _views(report_ids: list[int]) -> list:
    reports = (
        HostReport.objects.select_related("feature_set", "host").defer("raw").in_bulk(report_ids)
    )
    gone = [pk for pk in report_ids if pk not in reports]
    if gone:
        raise RunDataGone(
            f"report {gone[0]} of this run has been deleted since the run was prepared"
        )
    return [selectors.report_host_view(reports[pk]) for pk in report_ids]


def matrix_run_prepare(run: MatrixRun) -> list[int]:
    """Group the hosts into classes and plan the tiles; returns the tile indexes to compute."""
    if run.class_reports:  # already prepared (a redelivered task): only what is missing
        return _missing_tiles(run)
    report_of_host = dict(
        Host.objects.filter(pk__in=run.host_ids).values_list("pk", "current_report_id")
    )
    kept = [
        (pk, label)
        for pk, label in zip(run.host_ids, run.host_labels, strict=True)
        if report_of_host.get(pk)
    ]
    skipped = [label for pk, label in zip(run.host_ids, run.host_labels, strict=True)
               if not report_of_host.get(pk)]  # fmt: skip
    if not kept:
        raise PoolError("every host of the pool was deleted (or lost its report) before the run")
    notes = ""
    if skipped:
        notes = (
            f"{len(skipped)} host(s) deleted or left without a report before the run was "
            f"prepared, not in the matrix: {', '.join(skipped[:50])}"
            + (" ..." if len(skipped) > 50 else "")
        )
        run.host_ids = [pk for pk, _ in kept]
        run.host_labels = [label for _, label in kept]
    report_ids = sorted({report_of_host[pk] for pk in run.host_ids})
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
        host_ids=run.host_ids,
        host_labels=run.host_labels,
        notes=notes,
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
        # The run's row lock serialises the tiles of one run: each stores its tile and counts
        # the stored ones after every earlier tile has committed, so the last one sees them all.
        MatrixRun.objects.select_for_update().filter(pk=run.pk).first()
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
        return _record_progress(run.pk)


def _record_progress(run_pk: int) -> bool:
    """Store the count of stored tiles and, when they are all there, mark the run succeeded;
    True when the run is (now) complete.  Call it with the run's row locked."""
    now = timezone.now()
    run = MatrixRun.objects.get(pk=run_pk)
    done = MatrixTile.objects.filter(run_id=run_pk).count()
    MatrixRun.objects.filter(pk=run_pk).update(tiles_done=done, heartbeat=now)
    complete = run.tiles_total > 0 and done >= run.tiles_total
    if complete and run.status in (MatrixRun.Status.PENDING, MatrixRun.Status.RUNNING):
        MatrixRun.objects.filter(pk=run_pk).update(
            status=MatrixRun.Status.SUCCEEDED, finished_at=now
        )
    return complete


def matrix_run_finish_if_complete(run: MatrixRun) -> bool:
    """Mark the run succeeded if every tile is stored (under its row lock); True if it is."""
    with transaction.atomic():
        if MatrixRun.objects.select_for_update().filter(pk=run.pk).first() is None:
            return False
        return _record_progress(run.pk)


def matrix_run_fail(run: MatrixRun, error: str) -> None:
    """Fail a run, unless all its tiles are stored: then it is finished instead."""
    if matrix_run_finish_if_complete(run):
        return
    MatrixRun.objects.filter(pk=run.pk).exclude(status=MatrixRun.Status.SUCCEEDED).update(
        status=MatrixRun.Status.FAILED, error=error[:2000], finished_at=timezone.now()
    )


def matrix_run_sweep(*, stale_after: datetime.timedelta = STALE_AFTER) -> dict[str, list[int]]:
    """Resume runs without progress for ``stale_after`` (their worker died); fail them after
    ``MAX_ATTEMPTS`` resumptions; finish those whose tiles are all stored.  Returns the ids
    resumed, failed and finished."""
    cutoff = timezone.now() - stale_after
    resumed, failed, finished = [], [], []
    candidates = MatrixRun.objects.filter(
        status__in=[MatrixRun.Status.PENDING, MatrixRun.Status.RUNNING]
    )
    for run in candidates:
        last = run.heartbeat or run.created_at
        if last >= cutoff:
            continue
        if run.tiles_total and matrix_run_finish_if_complete(run):
            finished.append(run.pk)  # every tile was stored: finish it, never fail it
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
            _enqueue("matrix_run_prepare", run.pk)
        else:
            for index in _missing_tiles(run):
                _enqueue("matrix_run_tile", run.pk, index)
        resumed.append(run.pk)
    return {"resumed": resumed, "failed": failed, "finished": finished}


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
