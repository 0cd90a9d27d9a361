"""API-wide conventions every app uses: ``ApiError`` (a 4xx a view decides itself) and
``error_overrides``, the owner-or-staff permission, and the throttles (kbsite/throttle.py).
The one error shape and the one mapping from the core's and the services' errors to it are in
``kbsite/api_errors.py`` (the REST framework's exception handler)."""

from __future__ import annotations

from rest_framework import exceptions

from kbsite import throttle


class ApiError(exceptions.APIException):
    """A 4xx a view decides itself (not a serializer's validation, not a core error): one
    sentence, the input ``field`` it is about, answered in the one error shape
    (``{"error": message, "code": code, "detail": message, "field"?: field}``)."""

    def __init__(self, message: str, *, field: str = "", status: int = 400, code: str = ""):
        super().__init__(message, code or ("not_found" if status == 404 else "invalid"))
        self.status_code = status
        self.field = field


def error_overrides(overrides: dict[type[Exception], dict]):
    """A function view's adjustments to ``kbsite.api_errors.API_ERRORS``:
    ``{GuestCpuError: {"field": "vm"}}`` names another input field, ``{HostRefError: {"status":
    400}}`` another status."""

    def decorate(view):
        view.cls.error_overrides = overrides
        return view

    return decorate


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
