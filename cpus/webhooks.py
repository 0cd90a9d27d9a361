"""POSTing drift events to users' webhook URLs (standard library HTTP: one JSON POST, no
client library needed).

``check_url`` refuses a URL that is not http(s) or that resolves to a private, loopback,
link-local or reserved address unless ``CPUKB_WEBHOOK_ALLOW_PRIVATE`` is on: checked when the
URL is saved and again before every POST (DNS may change).  ``post`` answers (ok, error).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings


class WebhookUrlError(ValueError):
    """A webhook URL the server will not call."""


def check_url(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookUrlError("the webhook URL must be http:// or https:// with a host name")
    if settings.CPUKB_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise WebhookUrlError(f"the webhook host does not resolve: {error}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise WebhookUrlError(
                f"the webhook host resolves to {address}, a private or reserved address"
            )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # a redirect is an answer, not a delivery


def post(url: str, payload: dict) -> tuple[bool, str]:
    """POST ``payload`` as JSON; (True, "") on a 2xx answer, else (False, why)."""
    try:
        check_url(url)
    except WebhookUrlError as error:
        return False, str(error)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "cpukb-drift-webhook/1"},
        method="POST",
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=settings.CPUKB_WEBHOOK_TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, str(getattr(error, "reason", error))[:500]
    if 200 <= status < 300:
        return True, ""
    return False, f"HTTP {status}"
