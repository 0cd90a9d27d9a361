"""Login lockout with exponential backoff, per user name and per client address.

Failed password checks are counted in the shared cache (``kbsite/cache.py``), under the user
name (normalised: NFKC, case-folded, hashed) and under the client address
(``kbsite.throttle.client_ip``). From ``CPUKB_LOGIN_FAILURES`` failures of one name (or
``CPUKB_LOGIN_IP_FAILURES`` from one address) on, logging in is refused **without checking the
password** until ``CPUKB_LOGIN_LOCKOUT_SECONDS`` x 2^(failures beyond the limit) have passed since
the last failure, at most ``CPUKB_LOGIN_LOCKOUT_MAX_SECONDS``. Attempts refused while locked are
not counted (they test nothing), so the lock ends when it says it does. A successful login clears
the name's count; an address's count only fades (24 h after its last failure), or one account of
the attacker's own would reset it between guesses at other names.

Every password login goes through ``LockoutModelBackend`` (the login page, the admin's), so no
form bypasses it; the login page says when to retry (``LoginView``, 429 with ``Retry-After``).
"""

from __future__ import annotations

import hashlib
import math
import time
import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from kbsite.throttle import cache_available, cache_failed, client_ip

FORGET_AFTER_SECONDS = 24 * 3600


def _name_key(username: str) -> str:
    normal = unicodedata.normalize("NFKC", username or "").casefold()
    return "lockout:user:" + hashlib.sha256(normal.encode()).hexdigest()[:32]


def _keys(request, username: str) -> list[tuple[str, int]]:
    """(cache key, failure limit) of each identity this attempt counts against."""
    keys = [(_name_key(username), settings.CPUKB_LOGIN_FAILURES)]
    if request is not None:
        keys.append((f"lockout:ip:{client_ip(request)}", settings.CPUKB_LOGIN_IP_FAILURES))
    return keys


def _lock_seconds(failures: int, limit: int) -> float:
    if failures < limit:
        return 0.0
    exponent = min(failures - limit, 30)
    return min(
        settings.CPUKB_LOGIN_LOCKOUT_SECONDS * 2**exponent,
        settings.CPUKB_LOGIN_LOCKOUT_MAX_SECONDS,
    )


def seconds_locked(request, username: str) -> int:
    """How long logins for this name, or from this address, stay refused (0: not locked)."""
    if not cache_available():
        return 0
    now = time.time()
    remaining = 0.0
    try:
        for key, limit in _keys(request, username):
            state = cache.get_many([key, f"{key}:at"])
            failures, last = state.get(key, 0), state.get(f"{key}:at", 0.0)
            remaining = max(remaining, last + _lock_seconds(failures, limit) - now)
    except Exception as exc:  # shared cache down: logins still work, unprotected
        cache_failed("login lockout", exc)
        return 0
    return math.ceil(remaining) if remaining > 0 else 0


def record_failure(request, username: str) -> None:
    if seconds_locked(request, username) or not cache_available():
        return  # refused unchecked (not a guess), or nowhere to count it
    now = time.time()
    try:
        for key, _limit in _keys(request, username):
            cache.add(key, 0, timeout=FORGET_AFTER_SECONDS)
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=FORGET_AFTER_SECONDS)
            cache.touch(key, FORGET_AFTER_SECONDS)
            cache.set(f"{key}:at", now, timeout=FORGET_AFTER_SECONDS)
    except Exception as exc:
        cache_failed("login failure count", exc)


def record_success(username: str) -> None:
    key = _name_key(username)
    try:
        cache.delete_many([key, f"{key}:at"])
    except Exception as exc:
        cache_failed("login lockout reset", exc)


def describe(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


class LockoutModelBackend(ModelBackend):
    """Django's user-and-password check, refused outright while the name or address is locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        name = username if username is not None else kwargs.get("username", "")
        if seconds_locked(request, name or ""):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed)
def _count_failure(sender, credentials, request=None, **kwargs):
    record_failure(request, credentials.get("username") or "")


@receiver(user_logged_in)
def _reset_on_success(sender, request, user, **kwargs):
    record_success(user.get_username())


class LockoutAuthenticationForm(AuthenticationForm):
    """The login form, which says when to retry instead of checking a locked name's password."""

    locked_seconds = 0

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        self.locked_seconds = seconds_locked(self.request, username)
        if self.locked_seconds:
            raise forms.ValidationError(
                "Too many failed logins for this account or from your address. "
                f"Try again in {describe(self.locked_seconds)}.",
                code="locked",
            )
        return super().clean()


class LoginView(auth_views.LoginView):
    authentication_form = LockoutAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.locked_seconds:
            response.status_code = 429
            response["Retry-After"] = str(form.locked_seconds)
        return response
