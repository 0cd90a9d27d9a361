"""Thin Celery tasks: load the row, call a service."""

from __future__ import annotations

from celery import shared_task

from cpus import services
from cpus.models import RedecodeRun


@shared_task(acks_late=True)
def redecode_reports(run_id: int) -> dict:
    """Re-decode every report stored by an older decoder version (idempotent)."""
    run = RedecodeRun.objects.get(pk=run_id)
    run = services.redecode_run_execute(run=run)
    return {"run": run.pk, "status": run.status, "done": run.done, "total": run.total}
