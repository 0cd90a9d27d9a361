"""Site-level views: the home page, the glossary and /healthz."""

import ipaddress
import json
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kbsite import health
from kbsite.throttle import client_ip
from kbsite.verdicts import VERDICTS


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "kbsite/home.html")


@require_GET
def glossary(request: HttpRequest) -> HttpResponse:
    """What every verdict and term means, in plain words (linked from every verdict badge)."""
    return render(request, "kbsite/glossary.html", {"verdicts": VERDICTS})


def may_see_health_details(request: HttpRequest) -> bool:
    """The detailed health check names components, workers and errors: not for everyone.

    Allowed with ``Authorization: Bearer <CPUKB_HEALTH_TOKEN>`` (when that setting is set), for
    staff, and from the machine itself (a loopback client address, under the trusted-proxy
    rule of kbsite/throttle.py, so a forged X-Forwarded-For does not count).
    """
    token = settings.CPUKB_HEALTH_TOKEN
    if token:
        scheme, _, supplied = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and constant_time_compare(supplied.strip(), token):
            return True
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    try:
        return ipaddress.ip_address(client_ip(request)).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 otherwise; `?full=1` adds the Celery broker and workers.

    A plain function view (no DRF, no session, no auth) so the default check is a single
    `SELECT 1` and load balancers can poll it cheaply. The detailed form answers only to
    ``may_see_health_details``; others get 403 (the plain form stays public).
    """
    if request.GET.get("full") not in {None, "", "0"}:
        if not may_see_health_details(request):
            message = (
                "The detailed health check is for staff, the local machine, or a client with "
                "the health token (Authorization: Bearer ...); /healthz is public."
            )
            return JsonResponse(
                {"error": message, "code": "permission_denied", "detail": message}, status=403
            )
        components = health.check_all()
        healthy = all(component["status"] == "ok" for component in components.values())
        body = {"status": "ok" if healthy else "error", "components": components}
        return JsonResponse(body, status=200 if healthy else 503)

    database = health.check_database()
    if database["status"] == "ok":
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "error", "database": database["detail"]}, status=503)


CLIENT = Path(__file__).resolve().parent.parent / "client" / "cpukb.py"


@require_GET
def client_download(request: HttpRequest) -> HttpResponse:
    """The stdlib-only command-line client, to run on any hypervisor host without installing;
    its ``DEFAULT_SERVER`` is this site (the host was checked against ALLOWED_HOSTS), so the
    downloaded client needs no --server."""
    server = request.build_absolute_uri("/").rstrip("/")
    source = CLIENT.read_text(encoding="utf-8").replace(
        'DEFAULT_SERVER = ""', f"DEFAULT_SERVER = {json.dumps(server)}", 1
    )
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cpukb.py"'
    return response
