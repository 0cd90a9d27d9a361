from django.apps import AppConfig


class CpusConfig(AppConfig):
    name = "cpus"
    verbose_name = "CPU catalog"
