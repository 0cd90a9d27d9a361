from django.apps import AppConfig
from django.db.models.signals import post_migrate

from cpus.feature_rows import load_feature_rows


class CpusConfig(AppConfig):
    name = "cpus"
    verbose_name = "CPU catalog"

    def ready(self):
        post_migrate.connect(load_feature_rows, sender=self)
