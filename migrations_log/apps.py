from django.apps import AppConfig


class MigrationsLogConfig(AppConfig):
    name = "migrations_log"
    verbose_name = "Migration ledger"

    def ready(self) -> None:
        # Imported here, not at module level: models can only be imported once apps are loaded.
        from cpus.drift import drift_affects
        from migrations_log.drift import migrations_affected

        # The catalog's drift events name the recorded migrations they change (cpus/drift.py).
        drift_affects.connect(migrations_affected, dispatch_uid="migrations_log.drift")
