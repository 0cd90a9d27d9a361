"""One REST API under /api/: every app registers its viewsets on this router."""

from rest_framework.routers import DefaultRouter

from cpus.api.urls import register as register_catalog

app_name = "api"

router = DefaultRouter()
register_catalog(router)

urlpatterns = router.urls
