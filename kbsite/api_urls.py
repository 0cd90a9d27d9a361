"""One REST API under /api/: every app registers its viewsets on this router."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from cpus.api import compat, planning, vms
from cpus.api.urls import register as register_catalog
from migrations_log.api.urls import register as register_ledger

app_name = "api"

router = DefaultRouter()
# Tools may call /api/migrations/accuracy with or without the trailing slash (the router's
# constructor only takes a boolean, hence the attribute).
router.trailing_slash = "/?"
register_catalog(router)
register_ledger(router)

urlpatterns = [
    path("compat/check", compat.compat_check, name="compat-check"),
    path("pools/baseline", compat.pool_baseline, name="pool-baseline"),
    path("vms/preflight", vms.vm_preflight, name="vm-preflight"),
    path("pools/plan", planning.pool_plan, name="pool-plan"),
    *router.urls,
]
