"""Site-level views: the home page and /healthz."""

from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
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


CLIENT = Path(__file__).resolve().parent.parent / "client" / "cpukb.py"


@require_GET
def client_download(request: HttpRequest) -> FileResponse:
    """The stdlib-only command-line client, to run on any hypervisor host without installing."""
    response = FileResponse(CLIENT.open("rb"), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="cpukb.py"'
    return response
