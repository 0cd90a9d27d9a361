"""Request bodies over the site's limit are refused before they are read.

Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only for form fields and raw bodies, and only once
a view touches ``request.POST``/``request.body``; a multipart *file* of any size is streamed to
a temporary file first, so a 40 MiB upload used to be read (and written to disk) in full before
the view refused it (issue 19). This middleware, first in ``MIDDLEWARE``, decides from the
request line and headers alone:

- ``Content-Length`` above ``CPUKB_MAX_REQUEST_BYTES``: ``413`` at once, nothing read;
- a ``Content-Length`` that is not a non-negative integer: ``400``;
- ``Transfer-Encoding: chunked`` without a length: the body is read while it streams, at most
  one byte past the limit, then ``413``; a smaller one is handed to Django as an ordinary body
  of known length. Only servers that decode chunked bodies (gunicorn sets
  ``wsgi.input_terminated``) can do that; on others (``runserver``) a chunked body under the
  limit is a ``411`` asking for a ``Content-Length``.

``UnstorableInputMiddleware`` turns what a well-formed request can carry but the database or
the JSON parser cannot take into a ``400`` instead of a 500: a NUL byte in a URL path, a query
string or any string of a body (PostgreSQL text cannot hold one), a lone surrogate in a JSON
string (not encodable as UTF-8), JSON nested deeper than the interpreter's recursion limit
(``[`` a hundred thousand times).

Answers use ``kbsite.resilience.error_response``: the API's JSON error shape under ``/api/``,
a short page elsewhere.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.db.utils import DataError
from django.http import HttpRequest, HttpResponse
from rest_framework.pagination import LimitOffsetPagination

from kbsite.resilience import error_response

CHUNK = 64 * 1024


def _too_large(request: HttpRequest, what: str) -> HttpResponse:
    limit = settings.CPUKB_MAX_REQUEST_BYTES
    return error_response(
        request,
        status=413,
        code="request_too_large",
        message=(
            f"The request body {what} is larger than {limit:,} bytes; "
            f"a report may be up to {settings.CPUKB_MAX_UPLOAD_BYTES:,} bytes."
        ),
        title="Request too large",
    )


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal = self.check(request)
        if refusal is None:
            return self.get_response(request)
        # A length, so the client can read the answer while its body is still unsent.
        refusal["Content-Length"] = str(len(refusal.content))
        return refusal

    def check(self, request: HttpRequest) -> HttpResponse | None:
        limit = settings.CPUKB_MAX_REQUEST_BYTES
        declared = request.META.get("CONTENT_LENGTH")
        if declared not in (None, ""):
            if not declared.isdigit():  # str.isdigit: no sign, no spaces, no "1e9"
                return error_response(
                    request,
                    status=400,
                    code="bad_content_length",
                    message="The Content-Length header is not a number of bytes.",
                    title="Bad request",
                )
            if int(declared) > limit:
                return _too_large(request, f"({int(declared):,} bytes declared)")
            return None
        if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        stream = request.META["wsgi.input"]
        received = bytearray()
        while len(received) <= limit:
            chunk = stream.read(min(CHUNK, limit + 1 - len(received)))
            if not chunk:
                break
            received += chunk
        if len(received) > limit:
            return _too_large(request, "(sent in chunks)")
        if not request.META.get("wsgi.input_terminated"):
            return error_response(
                request,
                status=411,
                code="length_required",
                message="This server needs a Content-Length header on requests with a body.",
                title="Length required",
            )
        # Django read CONTENT_LENGTH (absent: 0) when it built the request: give it the body.
        body = bytes(received)
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = LimitedStream(io.BytesIO(body), len(body))
        return None


def _unstorable(request: HttpRequest, message: str, code: str = "invalid_characters"):
    return error_response(request, status=400, code=code, message=message, title="Bad request")


NUL_MESSAGE = "The request contains a NUL character (\\x00 or %00), which no field accepts."


class UnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return _unstorable(request, NUL_MESSAGE)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DataError) and "NUL" in str(exception):
            return _unstorable(request, NUL_MESSAGE)
        if isinstance(exception, UnicodeEncodeError) and "surrogate" in str(exception):
            return _unstorable(
                request,
                "The request contains a lone surrogate code point (such as \\udcff), which is "
                "not text any field accepts.",
            )
        if isinstance(exception, RecursionError):
            return _unstorable(
                request, "The request body is nested too deeply to be read.", "nested_too_deeply"
            )
        return None


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit`` and ``?offset`` as DRF has them, with ``limit`` capped: one page is never the
    whole table (``?limit=1000000000``)."""

    max_limit = 500
