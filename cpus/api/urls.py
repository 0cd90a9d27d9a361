"""The catalog's API routes, registered on the site's one router (kbsite/api_urls.py)."""

from cpus.api import views
from cpus.api.drift import DriftEventViewSet, HostReportsViewSet


def register(router) -> None:
    router.register("cpu-models", views.CpuModelViewSet, basename="cpu-model")
    router.register("features", views.FeatureViewSet, basename="feature")
    router.register("guest-models", views.GuestCpuModelViewSet, basename="guest-model")
    router.register("hosts", views.HostViewSet, basename="host")
    router.register("reports", views.HostReportViewSet, basename="report")
    router.register("drift", DriftEventViewSet, basename="drift-event")
    router.register(
        r"hosts/(?P<host_pk>[0-9]+)/reports", HostReportsViewSet, basename="host-report"
    )
