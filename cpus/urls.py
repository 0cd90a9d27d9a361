"""Routes for the catalog's pages and uploads, in the ``cpus`` namespace.  The site's URLconf
(``kbsite/urls.py``) puts the compatibility pages (``cpus/compat/urls.py``) in the same namespace
and includes both at the site root: the catalog does not import compatibility."""

from django.urls import path

from cpus import views

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
    path("drift/", views.drift_list, name="drift-list"),
]
