"""The CPU Migration KB site: settings, URLs, the Celery app, base templates and /healthz."""

# Importing the Celery app here makes @shared_task bind to it in every process, web or worker.
from kbsite.celery import app as celery_app

__all__ = ["celery_app"]
