from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from kbsite import accounts, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("client/cpukb.py", views.client_download, name="client-download"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/token/create/", accounts.token_create, name="token-create"),
    path("accounts/token/revoke/", accounts.token_revoke, name="token-revoke"),
    path("api/", include("kbsite.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("cpus.urls")),
    path("", include("migrations_log.urls")),
]

# API-shaped (JSON) answers for malformed requests and unknown URLs under /api/.
handler400 = "kbsite.resilience.bad_request"
handler404 = "kbsite.resilience.not_found"
handler500 = "kbsite.resilience.server_error"
