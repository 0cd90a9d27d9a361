"""One rule for writes on the HTML side, as in the API: storing anything needs an account.

The API refuses an anonymous write with 401 (``IsOwnerOrStaffOrReadOnly``); an HTML form that
stores something shows its page to everyone (with a "sign in to ..." notice instead of the
submit button) and answers an anonymous POST with a redirect to the login page, storing
nothing.  Forms that only read (the pool baseline, what-if, the pair check) are GET forms and
stay open."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.urls import reverse

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def account_required_for_writes(message: str, *, next_url: str = ""):
    """Decorate a view whose POST stores something: an anonymous POST is refused before the
    view runs (nothing is read from the body, nothing stored) and sent to the login page with
    ``message``; after signing in the user comes back to ``next_url`` (a URL name) or to the
    page that was posted to."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in SAFE_METHODS and not request.user.is_authenticated:
                messages.info(request, message)
                target = reverse(next_url) if next_url else request.get_full_path()
                return redirect_to_login(target)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
