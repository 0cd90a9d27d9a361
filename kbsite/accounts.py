"""Accounts for the web: sign-up, and a profile page with the personal API token.

Sign-up is throttled per address (``CPUKB_THROTTLE_SIGNUPS``, kbsite/throttle.py); passwords
pass Django's ``AUTH_PASSWORD_VALIDATORS``; user names are plain ASCII (letters, digits and
``. _ -``) and unique whatever their case, so no one can register a lookalike of another name
(a Cyrillic "а" for a Latin "a", "Admin" beside "admin"). Password reset by e-mail exists only
when ``EMAIL_HOST`` is set; otherwise its page says to ask an administrator.
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from rest_framework.authtoken.models import Token

from cpus.models import DriftWebhook
from cpus.webhooks import WebhookUrlError, check_url

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,29}")
USERNAME_HELP = (
    "2 to 30 characters: ASCII letters, digits and . _ - (starting with a letter or digit). "
    "Names differing only in case count as the same."
)


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].help_text = USERNAME_HELP

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if not USERNAME_PATTERN.fullmatch(username):
            raise forms.ValidationError(
                "Use 2 to 30 ASCII letters, digits and . _ - only, starting with a letter or "
                "digit (other alphabets hold lookalikes of these names).",
                code="invalid_username",
            )
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("A user with that name already exists.", code="unique")
        return username


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("profile")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        messages.success(request, f"Welcome, {user.username}. Your account is ready.")
        return redirect("profile")
    return render(
        request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    token = Token.objects.filter(user=request.user).first()
    hosts = request.user.hosts.select_related("current_report__cpu_model").order_by("name")
    webhook = DriftWebhook.objects.filter(user=request.user).first()
    return render(
        request,
        "registration/profile.html",
        {"token": token, "hosts": hosts, "webhook": webhook},
    )


@login_required
@require_POST
def webhook_set(request: HttpRequest) -> HttpResponse:
    """Save (or, with an empty URL, remove) the URL each drift event of the user's hosts is
    POSTed to; a URL the server will not call (not http(s), a private address) is refused."""
    url = request.POST.get("url", "").strip()
    if not url:
        DriftWebhook.objects.filter(user=request.user).delete()
        messages.success(request, "Your drift webhook was removed.")
        return redirect("profile")
    try:
        if len(url) > 500:
            raise WebhookUrlError("the URL is longer than 500 characters")
        URLValidator(schemes=["http", "https"])(url)
        check_url(url)
    except (ValidationError, WebhookUrlError) as error:
        text = error.messages[0] if isinstance(error, ValidationError) else str(error)
        messages.error(request, f"Webhook not saved: {text}")
        return redirect("profile")
    DriftWebhook.objects.update_or_create(user=request.user, defaults={"url": url})
    messages.success(request, "Drift events of your hosts will be POSTed to that URL.")
    return redirect("profile")


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """A new token replaces the old one, so a leaked token can be rotated."""
    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    messages.success(
        request, "A new API token was created. Tools using the old one must be updated."
    )
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request: HttpRequest) -> HttpResponse:
    deleted, _ = Token.objects.filter(user=request.user).delete()
    messages.success(request, "Your API token was revoked." if deleted else "You had no API token.")
    return redirect("profile")


@require_GET
def password_reset_unavailable(request: HttpRequest) -> HttpResponse:
    """What /accounts/password_reset/ shows when the site cannot send e-mail (no EMAIL_HOST)."""
    return render(request, "registration/password_reset_unavailable.html")
