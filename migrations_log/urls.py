"""Routes for /ledger/ (none yet); included at the site root."""

from django.urls import URLPattern, URLResolver

app_name = "migrations_log"

urlpatterns: list[URLPattern | URLResolver] = []
