"""API-wide conventions: one error shape for every 4xx, and throttles (kbsite/throttle.py)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kbsite import throttle


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key == "non_field_errors" else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    """Every 4xx answer is ``{"error": message, "code": code, "detail": ..., "field"?: name}``.

    ``error`` is one readable sentence, ``detail`` keeps DRF's per-field messages, ``field``
    names the first offending field of a validation error.  Views that build their own 4xx
    body (a dump that cannot be decoded: ``{"error", "detail", "line"}``) are left alone.
    """
    if isinstance(exc, Http404):  # get_object_or_404: give it the API's error shape too
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if isinstance(exc, ProtectedError):
        # Deleting something the ledger still points at: refuse, and say what holds it.
        holders = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        message = f"it is still used by {', '.join(holders)}; delete or reassign those first"
        return Response({"error": message, "code": "protected", "detail": message}, status=409)
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    detail = exc.detail
    body = {"error": _first_message(detail), "code": _code(exc), "detail": response.data}
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict):
        field = next(iter(detail), None)
        if field and field != "non_field_errors":
            body["field"] = field
    elif isinstance(response.data, dict) and set(response.data) == {"detail"}:
        body["detail"] = response.data["detail"]
    response.data = body
    return response


def _code(exc) -> str:
    codes = exc.get_codes()
    while isinstance(codes, dict | list):
        codes = (
            next(iter(codes.values()))
            if isinstance(codes, dict)
            else (codes[0] if codes else exc.default_code)
        )
    # A form error raised without a code (django-filter passes them on) is just "invalid".
    return str(codes) if codes else exc.default_code


# The throttles count in the shared cache (kbsite/throttle.py); named here for the settings.
AnonReadThrottle = throttle.AnonReadThrottle
AnonWriteThrottle = throttle.AnonWriteThrottle
UserWriteThrottle = throttle.UserWriteThrottle


class IsOwnerOrStaffOrReadOnly:
    """Anyone may read; writing needs an account; changing or deleting an object needs to be
    its owner (``view.owner_field``) or staff, who moderate everything."""

    def has_permission(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if request.user.is_staff:
            return True
        owner_id = getattr(obj, f"{view.owner_field}_id", None)
        return owner_id is not None and owner_id == request.user.pk
