"""One REST API under /api/: every app registers its viewsets on this router."""

from rest_framework.routers import DefaultRouter

from cpus.api.urls import register as register_catalog
from cpus.compat import urls as compat_urls
from migrations_log.api.urls import register as register_ledger

app_name = "api"

router = DefaultRouter()
# Tools may call /api/migrations/accuracy with or without the trailing slash (the router's
# constructor only takes a boolean, hence the attribute).
router.trailing_slash = "/?"
register_catalog(router)
compat_urls.register_api(router)
register_ledger(router)

urlpatterns = [
    *compat_urls.api_urlpatterns,
    *router.urls,
]
