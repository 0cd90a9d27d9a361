"""The Celery application.

Environment-dependent settings (broker, eager mode, time limits) come from Django settings under
the CELERY_ prefix; the delivery policy below is the same everywhere, so it lives here.
"""

import os

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbsite.settings")

app = Celery("kbsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    # JSON only: task arguments are ids and plain values, and pickle would execute code.
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # A task is acknowledged after it finishes, one at a time per worker process, and given back
    # to the queue if its worker dies: a crashed worker loses no job. Tasks must be idempotent.
    # (Redis redelivers unacknowledged tasks after its visibility timeout,
    # CPUKB_BROKER_VISIBILITY_TIMEOUT, five minutes by default.)
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    task_reject_on_worker_lost=True,
    # Lets a job page tell "queued" from "running".
    task_track_started=True,
    broker_connection_retry_on_startup=True,
)
# The sweeper resumes matrix runs whose worker died (run a beat: `celery -A kbsite worker -B`).
app.conf.beat_schedule = {
    "sweep-matrix-runs": {"task": "cpus.compat.tasks.matrix_runs_sweep", "schedule": 60.0},
}
app.autodiscover_tasks()


def enqueue(task: str, *args) -> None:
    """Queue a task by its registered name (``"cpus.compat.tasks.matrix_run_tile"``): how a
    service queues a task whose module imports the service, without importing it back.  Celery
    resolves the name in its registry, so the embedded default's eager mode runs it at once, as
    ``.delay`` does."""
    app.signature(task, args=args).delay()


@celeryd_init.connect
def _worker_statement_timeout(**_kwargs) -> None:
    """A worker's statements may run longer than a web request's (a matrix run's preparation
    reads a whole pool), but not without bound: CPUKB_WORKER_STATEMENT_TIMEOUT_MS replaces the
    web value on every connection this worker (and its pool processes) opens."""
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    if "statement_timeout=" in options.get("options", ""):
        # libpq applies -c settings in order: the last statement_timeout wins.
        options["options"] += f" -c statement_timeout={settings.CPUKB_WORKER_STATEMENT_TIMEOUT_MS}"
