"""Site-level Celery tasks."""

from celery import shared_task


@shared_task
def ping() -> str:
    """A round trip through the broker and a worker, for smoke tests and operators."""
    return "pong"
