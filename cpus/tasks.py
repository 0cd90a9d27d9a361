"""Thin Celery tasks: load the row, call a service."""

from __future__ import annotations

from celery import shared_task

from cpus import services
from cpus.models import RedecodeRun


@shared_task(acks_late=True, ignore_result=True)
def redecode_reports(run_id: int) -> dict:
    """Re-decode every report stored by an older decoder version (idempotent)."""
    run = RedecodeRun.objects.get(pk=run_id)
    run = services.redecode_run_execute(run=run)
    return {"run": run.pk, "status": run.status, "done": run.done, "total": run.total}


@shared_task(acks_late=True, ignore_result=True)
def matrix_run_prepare(run_id: int) -> dict:
    """Group a run's hosts into classes and fan its tiles out as parallel tasks."""
    from cpus import matrix_runs
    from cpus.models import MatrixRun

    run = MatrixRun.objects.get(pk=run_id)
    if run.status in (MatrixRun.Status.SUCCEEDED, MatrixRun.Status.FAILED):
        return {"run": run_id, "status": run.status}
    try:
        indexes = matrix_runs.matrix_run_prepare(run)
    except Exception as error:
        matrix_runs.matrix_run_fail(run, f"{type(error).__name__}: {error}")
        raise
    for index in indexes:
        matrix_run_tile.delay(run_id, index)
    return {"run": run_id, "tiles": len(indexes)}


@shared_task(acks_late=True, ignore_result=True)
def matrix_run_tile(run_id: int, index: int) -> dict:
    """Compute one tile of a run (idempotent: a redelivered tile is computed again)."""
    from cpus import matrix_runs
    from cpus.models import MatrixRun

    run = MatrixRun.objects.get(pk=run_id)
    if run.status == MatrixRun.Status.FAILED:
        return {"run": run_id, "tile": index, "skipped": "run failed"}
    try:
        complete = matrix_runs.matrix_run_tile(run, index)
    except Exception as error:
        matrix_runs.matrix_run_fail(run, f"tile {index}: {type(error).__name__}: {error}")
        raise
    return {"run": run_id, "tile": index, "complete": complete}


@shared_task(ignore_result=True)
def matrix_runs_sweep() -> dict:
    """Resume matrix runs whose worker died; fail those that never progress (celery beat)."""
    from cpus import matrix_runs

    return matrix_runs.matrix_run_sweep()


WEBHOOK_MAX_RETRIES = 6


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=WEBHOOK_MAX_RETRIES)
def drift_webhook_deliver(self, delivery_id: int) -> dict:
    """POST one drift event to its webhook, exactly once: the delivery row is locked while it
    is sent and marked delivered in the same transaction, so a redelivered or repeated task
    finds it done.  A failed POST is retried with exponential backoff (10 s, 20 s, 40 s ...,
    at most 10 minutes), then the delivery is marked failed."""
    from django.db import transaction
    from django.utils import timezone

    from cpus import drift, webhooks
    from cpus.models import WebhookDelivery

    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update()
            .select_related("event__host")
            .get(pk=delivery_id)
        )
        if delivery.status != WebhookDelivery.Status.PENDING:
            return {"delivery": delivery_id, "status": delivery.status}
        ok, error = webhooks.post(delivery.url, drift.event_payload(delivery.event))
        delivery.attempts += 1
        if ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
        else:
            delivery.last_error = error
            if self.request.retries >= WEBHOOK_MAX_RETRIES:
                delivery.status = WebhookDelivery.Status.FAILED
        delivery.save(update_fields=["status", "attempts", "last_error", "delivered_at"])
    if not ok and delivery.status == WebhookDelivery.Status.PENDING:
        raise self.retry(countdown=min(600, 10 * 2**self.request.retries))
    return {"delivery": delivery_id, "status": delivery.status}
