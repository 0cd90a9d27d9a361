"""The matrix runs' Celery tasks, thin: load the run, call ``cpus.compat.runs``."""

from __future__ import annotations

from celery import shared_task

from cpus.compat import runs
from cpus.models import MatrixRun


@shared_task(acks_late=True, ignore_result=True)
def matrix_run_prepare(run_id: int) -> dict:
    """Group a run's hosts into classes and fan its tiles out as parallel tasks."""
    run = MatrixRun.objects.get(pk=run_id)
    if run.status in (MatrixRun.Status.SUCCEEDED, MatrixRun.Status.FAILED):
        return {"run": run_id, "status": run.status}
    try:
        indexes = runs.matrix_run_prepare(run)
    except Exception as error:
        runs.matrix_run_fail(run, f"{type(error).__name__}: {error}")
        raise
    for index in indexes:
        matrix_run_tile.delay(run_id, index)
    return {"run": run_id, "tiles": len(indexes)}


@shared_task(acks_late=True, ignore_result=True)
def matrix_run_tile(run_id: int, index: int) -> dict:
    """Compute one tile of a run (idempotent: a redelivered tile is computed again)."""
    run = MatrixRun.objects.get(pk=run_id)
    if run.status == MatrixRun.Status.FAILED:
        return {"run": run_id, "tile": index, "skipped": "run failed"}
    try:
        complete = runs.matrix_run_tile(run, index)
    except Exception as error:
        runs.matrix_run_fail(run, f"tile {index}: {type(error).__name__}: {error}")
        raise
    return {"run": run_id, "tile": index, "complete": complete}


@shared_task(ignore_result=True)
def matrix_runs_sweep() -> dict:
    """Resume matrix runs whose worker died; fail those that never progress (celery beat)."""
    return runs.matrix_run_sweep()
