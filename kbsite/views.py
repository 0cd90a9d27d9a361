"""Site-level views: the home page and /healthz."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kbsite import health


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "kbsite/home.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when healthy, 503 otherwise; `?full=1` adds the Celery broker and workers.

    A plain function view (no DRF, no session, no auth) so the default check is a single
    `SELECT 1` and load balancers can poll it cheaply.
    """
    if request.GET.get("full") not in {None, "", "0"}:
        components = health.check_all()
        healthy = all(component["status"] == "ok" for component in components.values())
        body = {"status": "ok" if healthy else "error", "components": components}
        return JsonResponse(body, status=200 if healthy else 503)

    database = health.check_database()
    if database["status"] == "ok":
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "error", "database": database["detail"]}, status=503)
