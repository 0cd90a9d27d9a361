"""Clean answers when a request cannot be served: the database is down, or the request is too big.

- ``DatabaseUnavailableMiddleware``: a view that loses PostgreSQL (server stopped or restarting,
  connection dropped) answers ``503`` with a short message instead of a 500 traceback page, and
  a ``Retry-After`` header. Django closes the broken connection at the end of the request, so
  the next request reconnects by itself once the server is back: nothing needs restarting.
  A statement PostgreSQL cancelled because it ran past ``CPUKB_DB_STATEMENT_TIMEOUT_MS`` is a
  ``503`` too (code ``query_timeout``): the server is fine, this request was too costly.
- ``not_found``: the ``handler404`` view, so a URL under ``/api/`` that matches no route (a
  non-numeric id, a typo) answers in the API's JSON error shape rather than an HTML page.
- ``server_error``: the ``handler500`` view, JSON under ``/api/`` too.
- ``bad_request``: the ``handler400`` view. Django refuses requests over its limits
  (``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``DATA_UPLOAD_MAX_NUMBER_FILES``,
  ``DATA_UPLOAD_MAX_NUMBER_FIELDS``) with a 400 before any view runs, and its default page
  says only "Bad Request (400)": this one says which limit, in the API's error shape.

JSON for ``/api/`` and ``/healthz`` (``{"error", "code", "detail"}``, as docs/api.md promises
for every API error), a short HTML page otherwise.
"""

from __future__ import annotations

import html
import logging

from django.conf import settings
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db.utils import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
JSON_PREFIXES = ("/api/", "/healthz")


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(JSON_PREFIXES)


def error_response(
    request: HttpRequest, *, status: int, code: str, message: str, title: str
) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": message, "code": code, "detail": message}, status=status)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )
    return HttpResponse(page, status=status, content_type="text/html; charset=utf-8")


# PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout (or a cancel request).
QUERY_CANCELED = "57014"


def statement_timed_out(exception: BaseException) -> bool:
    """Whether a database error is PostgreSQL cancelling a statement (statement_timeout)."""
    cause = exception.__cause__ or exception
    return getattr(cause, "sqlstate", None) == QUERY_CANCELED


class DatabaseUnavailableMiddleware:
    """Turn a lost database connection into a 503 instead of a 500.

    Place it near the top of MIDDLEWARE; it only acts on exceptions raised by views.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        if statement_timed_out(exception):
            logger.warning(
                "statement timeout (%s ms) for %s %s",
                settings.CPUKB_DB_STATEMENT_TIMEOUT_MS,
                request.method,
                request.path[:200],
            )
            response = error_response(
                request,
                status=503,
                code="query_timeout",
                message=(
                    "This request needed more than "
                    f"{settings.CPUKB_DB_STATEMENT_TIMEOUT_MS:,} ms of database time and was "
                    "stopped; narrow it (fewer filters, a smaller pool) or try again later."
                ),
                title="Service unavailable",
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        first_line = (str(exception).strip().splitlines() or [""])[0]
        logger.warning(
            "database unavailable for %s %s: %s: %s",
            request.method,
            request.path,
            type(exception).__name__,
            first_line,
        )
        response = error_response(
            request,
            status=503,
            code="database_unavailable",
            message="The database is unavailable; try again in a few seconds.",
            title="Service unavailable",
        )
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


def _limit_message(exception: Exception | None) -> tuple[str, str]:
    if isinstance(exception, RequestDataTooBig):
        return (
            "request_too_large",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; "
            f"a report may be up to {settings.CPUKB_MAX_UPLOAD_BYTES:,} bytes.",
        )
    if isinstance(exception, TooManyFilesSent):
        return (
            "too_many_files",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files; "
            "send one report per request.",
        )
    if isinstance(exception, TooManyFieldsSent):
        return (
            "too_many_fields",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields.",
        )
    return "bad_request", "The request could not be understood."


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler400: say which request limit was exceeded (nothing was stored)."""
    code, message = _limit_message(exception)
    return error_response(request, status=400, code=code, message=message, title="Bad request")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: JSON under /api/, a short page elsewhere (templates may override 404.html)."""
    if not wants_json(request):
        from django.views.defaults import page_not_found

        return page_not_found(request, exception)
    return error_response(
        request,
        status=404,
        # Not "not_found" (an object that does not exist): no route matches this URL at all.
        code="no_such_endpoint",
        message=f"No API endpoint at {request.path}.",
        title="Not found",
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: the API's JSON error shape under /api/ (nothing of the exception is shown;
    it is logged by Django), Django's plain page elsewhere."""
    if not wants_json(request):
        from django.views.defaults import server_error as default_server_error

        return default_server_error(request)
    return error_response(
        request,
        status=500,
        code="server_error",
        message="The server failed to answer this request; the error has been logged.",
        title="Server error",
    )
