"""Routes for the catalog, uploads and the API; included at the site root."""

from django.urls import path

from cpus import compat_views, views, vm_views

app_name = "cpus"

urlpatterns = [
    path("cpus/", views.cpu_list, name="cpu-list"),
    path("cpus/compare/", views.cpu_compare, name="cpu-compare"),
    path("cpus/<int:pk>/", views.cpu_detail, name="cpu-detail"),
    path("features/", views.feature_list, name="feature-list"),
    path("features/<str:name>/", views.feature_detail, name="feature-detail"),
    path("guest-models/", views.guest_model_list, name="guest-model-list"),
    path("guest-models/<int:pk>/", views.guest_model_detail, name="guest-model-detail"),
    path("hosts/", views.host_list, name="host-list"),
    path("hosts/<int:pk>/", views.host_detail, name="host-detail"),
    path("reports/", views.report_list, name="report-list"),
    path("reports/upload/", views.report_upload, name="report-upload"),
    path("reports/<int:pk>/", views.report_detail, name="report-detail"),
    path("compat/", compat_views.pool, name="compat-pool"),
    path("compat/pair/", compat_views.pair, name="compat-pair"),
    path("compat/runs/", compat_views.runs, name="compat-run-create"),
    path("compat/runs/<int:pk>/", compat_views.run_detail, name="compat-run"),
    path("vms/preflight/", vm_views.vm_preflight, name="vm-preflight"),
    path("compat/runs/<int:pk>/rerun/", compat_views.run_rerun, name="compat-run-rerun"),
    path("drift/", views.drift_list, name="drift-list"),
]
