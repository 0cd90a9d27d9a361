"""Thin Celery tasks: load the row, call a service."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from cpus import drift, services, webhooks
from cpus.models import RedecodeRun, WebhookDelivery


@shared_task(acks_late=True, ignore_result=True)
def redecode_reports(run_id: int) -> dict:
    """Re-decode every report stored by an older decoder version (idempotent)."""
    run = RedecodeRun.objects.get(pk=run_id)
    run = services.redecode_run_execute(run=run)
    return {"run": run.pk, "status": run.status, "done": run.done, "total": run.total}


WEBHOOK_MAX_RETRIES = 6


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=WEBHOOK_MAX_RETRIES)
def drift_webhook_deliver(self, delivery_id: int) -> dict:
    """POST one drift event to its webhook, exactly once: the delivery row is locked while it
    is sent and marked delivered in the same transaction, so a redelivered or repeated task
    finds it done.  A failed POST is retried with exponential backoff (10 s, 20 s, 40 s ...,
    at most 10 minutes), then the delivery is marked failed."""
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
