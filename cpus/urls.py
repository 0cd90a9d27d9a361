"""Routes for /cpus/, /reports/ and /compat/ (none yet); included at the site root."""

from django.urls import URLPattern, URLResolver

app_name = "cpus"

urlpatterns: list[URLPattern | URLResolver] = []
