"""gunicorn settings for the site (the Dockerfile and docker-compose.yml start it with `-c`).

Threaded workers (gthread): a connection that says nothing waits in its worker's poller without
holding a thread, and one that stops half-way through a request holds one thread for at most
`GUNICORN_CLIENT_TIMEOUT` seconds (below), never a whole worker for gunicorn's 30 s `timeout`.
In production the site sits behind a reverse proxy that buffers whole requests
(docs/deploy.md), so gunicorn only ever sees complete requests; these limits are the second
line. Every value can be set from the environment; the command line still overrides this file.
"""

import logging
import os
import socket
import struct


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise SystemExit(f"{name}={value} must be at least {minimum}")
    return value


wsgi_app = "kbsite.wsgi:application"
bind = [os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")]
worker_class = "gthread"
# Processes: one per core is enough with threads; each thread keeps a database connection.
workers = _int("GUNICORN_WORKERS", 3)
threads = _int("GUNICORN_THREADS", 4)
# A request still running after this many seconds gets its worker restarted.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On restart (deploy, max_requests), requests in flight get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Seconds an idle kept-alive connection stays open (waiting in the poller, not in a thread).
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Connections a worker holds at once (active and kept-alive); more wait in the listen backlog.
worker_connections = _int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Recycle workers now and then, staggered, so no slow leak can grow without end.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000, minimum=0)
max_requests_jitter = max_requests // 10
# Request line and headers stay small (the proxy sends no more); bodies are limited by Django.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
errorlog = "-"

# A thread that has read part of a request waits for the rest, and gunicorn has no deadline for
# it: a client that stops half-way would hold the thread for good. The kernel's per-socket
# timeouts (SO_RCVTIMEO, SO_SNDTIMEO, inherited by each accepted connection from the listening
# socket) end a read or a write that makes no progress for this many seconds; the thread then
# drops the connection and serves the next.
client_timeout = _int("GUNICORN_CLIENT_TIMEOUT", 5)


class _DroppedClientsInOneLine(logging.Filter):
    """gunicorn logs a dropped connection as an error with a traceback; a client that stalled
    is expected here, so say it in one line, without filling the log on a slowloris."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, BlockingIOError | TimeoutError) and "Socket error" in str(record.msg):
            record.msg = f"dropped a client that made no progress for {client_timeout} s"
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def post_worker_init(worker):
    interval = struct.pack("ll", client_timeout, 0)
    for listener in worker.sockets:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, interval)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, interval)
    worker.log.error_log.addFilter(_DroppedClientsInOneLine())
