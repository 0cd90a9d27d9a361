from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "cpus.compat"
    label = "compat"
    verbose_name = "Compatibility"
