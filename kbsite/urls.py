from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from cpus import urls as catalog_urls
from cpus.compat import urls as compat_urls
from kbsite import accounts, lockout, views

# django.contrib.auth.urls, less password reset unless the site can send e-mail: a reset that
# cannot be delivered would log an error and still say it was sent.
account_urls = [
    path("login/", lockout.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
if settings.EMAIL_HOST:
    account_urls += [
        path("password_reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
        path(
            "password_reset/done/",
            auth_views.PasswordResetDoneView.as_view(),
            name="password_reset_done",
        ),
        path(
            "reset/<uidb64>/<token>/",
            auth_views.PasswordResetConfirmView.as_view(),
            name="password_reset_confirm",
        ),
        path(
            "reset/done/",
            auth_views.PasswordResetCompleteView.as_view(),
            name="password_reset_complete",
        ),
    ]
else:
    account_urls += [
        path("password_reset/", accounts.password_reset_unavailable, name="password_reset"),
    ]

urlpatterns = [
    path("", views.home, name="home"),
    path("glossary/", views.glossary, name="glossary"),
    path("healthz", views.healthz, name="healthz"),
    path("client/cpukb.py", views.client_download, name="client-download"),
    path("admin/", admin.site.urls),
    path("accounts/", include(account_urls)),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/profile/", accounts.profile, name="profile"),
    path("accounts/token/create/", accounts.token_create, name="token-create"),
    path("accounts/token/revoke/", accounts.token_revoke, name="token-revoke"),
    path("accounts/webhook/", accounts.webhook_set, name="webhook-set"),
    path("api/", include("kbsite.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script for the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # The catalog's pages and the compatibility pages share the ``cpus`` namespace
    # (``cpus:host-list``, ``cpus:compat-pool`` ...).
    path("", include((catalog_urls.urlpatterns + compat_urls.urlpatterns, catalog_urls.app_name))),
    path("", include("migrations_log.urls")),
]

# API-shaped (JSON) answers for malformed requests and unknown URLs under /api/.
handler400 = "kbsite.resilience.bad_request"
handler404 = "kbsite.resilience.not_found"
handler500 = "kbsite.resilience.server_error"
