from django.apps import AppConfig


class MigrationsLogConfig(AppConfig):
    name = "migrations_log"
    verbose_name = "Migration ledger"
