"""The ledger's API routes, registered on the site's one router (kbsite/api_urls.py)."""

from migrations_log.api import views


def register(router) -> None:
    router.register("migrations", views.MigrationRecordViewSet, basename="migration")
