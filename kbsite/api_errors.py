"""The API's one error shape, and the one mapping from the errors the core (``cpus/cpuid``) and
the apps' services raise to it: the REST framework's exception handler (settings
``REST_FRAMEWORK["EXCEPTION_HANDLER"]``).  This module puts the apps together (it names their
service errors), like the URLconfs; the apps themselves import only ``kbsite.api``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import ProtectedError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from cpus.compat.runs import PoolError, RunDataGone
from cpus.cpuid import DumpParseError
from cpus.cpuid.compat import GuestCpuError
from cpus.cpuid.planning import PlanningError
from cpus.cpuid.preflight import PreflightError
from cpus.cpuid.stack import StackError
from cpus.cpuid.vmconfig import VmConfigError
from cpus.refs import HostRefError
from kbsite.api import ApiError
from migrations_log.explain import MessageTooLong
from migrations_log.services import RecordError

# The one mapping from the errors the core (cpus/cpuid) and the services raise to API answers:
# exception class -> (HTTP status, code, the input field it is about by default).  API views
# do not catch these: they propagate to ``exception_handler``, which answers in the one error
# shape.  The most specific class wins (RunDataGone before PoolError).  An exception's own
# ``field`` attribute (HostRefError, RecordError) wins over the default.  A view may adjust a
# class with ``error_overrides`` (``@error_overrides({...})`` above a function view, or a class
# attribute of a viewset): the pre-flight's guest CPU comes from its ``vm`` field; a ledger
# record naming a host that does not exist has always been a 400.  A new core error that
# reaches the API is added here, once.
API_ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    DumpParseError: (400, "bad_dump", ""),  # + "line": 1-based, or null for the whole input
    GuestCpuError: (400, "bad_guest_cpu", "guest_cpu"),
    VmConfigError: (400, "bad_vm", "vm"),  # + "issues": each unreadable setting and its line
    StackError: (400, "bad_stack", "stack"),
    PlanningError: (400, "bad_plan", ""),
    PreflightError: (400, "bad_preflight", ""),
    HostRefError: (400, "bad_reference", ""),  # 404 "not_found" when nothing has that id/name
    PoolError: (400, "bad_pool", "hosts"),
    RunDataGone: (404, "run_data_gone", ""),
    RecordError: (400, "bad_record", ""),
    MessageTooLong: (400, "message_too_long", "message"),
}


def api_error_of(exc: Exception) -> tuple[int, str, str] | None:
    """(status, code, default field) of a core or service error; None for anything else."""
    for cls in type(exc).__mro__:
        if cls in API_ERRORS:
            return API_ERRORS[cls]
    return None


def _core_error_response(exc: Exception, context) -> Response | None:
    mapped = api_error_of(exc)
    if mapped is None:
        return None
    status, code, field = mapped
    if getattr(exc, "not_found", False):
        status, code = 404, "not_found"
    overrides = getattr(context.get("view"), "error_overrides", None) or {}
    override = next((o for cls, o in overrides.items() if isinstance(exc, cls)), {})
    if override.get("status", status) != status:
        status, code = override["status"], mapped[1]
    field = getattr(exc, "field", "") or override.get("field") or field
    # A decode error's sentence is its reason; ``detail`` adds where ("line 5: ...").
    message = exc.reason if isinstance(exc, DumpParseError) else str(exc)
    body: dict = {"error": message, "code": code, "detail": str(exc)}
    if field:
        body["field"] = field
    if isinstance(exc, DumpParseError):
        body["line"] = exc.line
    if isinstance(exc, VmConfigError):
        body["issues"] = [issue.to_dict() for issue in exc.issues]
    return Response(body, status=status)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            text = _first_message(value)
            return text if key == "non_field_errors" else f"{key}: {text}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def exception_handler(exc, context):
    """Every 4xx answer is ``{"error": message, "code": code, "detail": ..., "field"?: name,
    "line"?: n}``.

    ``error`` is one readable sentence, ``detail`` keeps DRF's per-field messages, ``field``
    names the first offending field of a validation error (or the input a core error is
    about), ``line`` the line of a dump that cannot be decoded (docs/api.md, Errors).  The
    core's and the services' errors are answered through ``API_ERRORS``.
    """
    core = _core_error_response(exc, context)
    if core is not None:
        return core
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
    if isinstance(exc, ApiError) and exc.field:
        body["field"] = exc.field
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
