"""The compatibility routes.  ``urlpatterns`` are pages, included in the catalog's namespace
(``cpus:compat-pool`` ...) by ``kbsite/urls.py``; ``api_urlpatterns`` and ``register_api`` put the
REST endpoints on the site's one API (``kbsite/api_urls.py``)."""

from django.urls import path

from cpus.compat import preflight_views, views
from cpus.compat.api import checks, plans, preflight
from cpus.compat.api.runs import MatrixRunViewSet

urlpatterns = [
    path("compat/", views.pool, name="compat-pool"),
    path("compat/pair/", views.pair, name="compat-pair"),
    path("compat/runs/", views.run_list, name="compat-run-create"),
    path("compat/runs/<int:pk>/", views.run_detail, name="compat-run"),
    path("compat/runs/<int:pk>/rerun/", views.run_rerun, name="compat-run-rerun"),
    path("vms/preflight/", preflight_views.vm_preflight, name="vm-preflight"),
]

api_urlpatterns = [
    path("compat/check", checks.compat_check, name="compat-check"),
    path("pools/baseline", checks.pool_baseline, name="pool-baseline"),
    path("vms/preflight", preflight.vm_preflight, name="vm-preflight"),
    path("pools/plan", plans.pool_plan, name="pool-plan"),
]


def register_api(router) -> None:
    router.register("matrix-runs", MatrixRunViewSet, basename="matrix-run")
