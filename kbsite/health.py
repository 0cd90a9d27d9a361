"""Health checks for /healthz: the database always; the broker and workers on request."""

import logging
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from kbsite.celery import app as celery_app

logger = logging.getLogger(__name__)

Component = dict[str, Any]

BROKER_TIMEOUT_SECONDS = 1.0
WORKER_PING_TIMEOUT_SECONDS = 1.0
EAGER = {"status": "ok", "mode": "eager", "detail": "tasks run in-process"}


def _describe(exc: BaseException) -> str:
    # First line only: drivers append multi-line hints that make the JSON hard to read.
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first_line}" if first_line else type(exc).__name__


def check_database() -> Component:
    """Exactly one query, so the endpoint is cheap enough to poll every few seconds."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        logger.exception("health: database check failed")
        return {"status": "error", "detail": _describe(exc)}
    return {"status": "ok"}


def tasks_run_eagerly() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def check_broker() -> Component:
    if tasks_run_eagerly():
        return dict(EAGER)
    client = redis.Redis.from_url(
        settings.CELERY_BROKER_URL,
        socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
        socket_timeout=BROKER_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except Exception as exc:
        logger.warning("health: broker check failed: %s", exc)
        return {"status": "error", "detail": _describe(exc)}
    finally:
        client.close()
    return {"status": "ok"}


def check_workers(broker: Component) -> Component:
    if tasks_run_eagerly():
        return dict(EAGER)
    if broker["status"] != "ok":
        # A ping through a dead broker would only wait for its connection retries.
        return {"status": "error", "detail": "broker unreachable, workers not asked", "workers": []}
    try:
        replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT_SECONDS)
    except Exception as exc:
        logger.warning("health: worker ping failed: %s", exc)
        return {"status": "error", "detail": _describe(exc), "workers": []}
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return {
            "status": "error",
            "detail": (f"no Celery worker answered a ping within {WORKER_PING_TIMEOUT_SECONDS}s"),
            "workers": [],
        }
    return {"status": "ok", "workers": names}


def check_all() -> dict[str, Component]:
    broker = check_broker()
    return {
        "database": check_database(),
        "broker": broker,
        "workers": check_workers(broker),
    }
