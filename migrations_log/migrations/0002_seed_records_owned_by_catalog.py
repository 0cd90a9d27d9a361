"""Seed ledger records belong to the catalog's system owner (cpus 0006 creates it).  Records
stored anonymously before writes took an account keep no submitter: they are shown as such,
never as the seed ledger's."""

from django.conf import settings
from django.db import migrations


def forwards(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    MigrationRecord = apps.get_model("migrations_log", "MigrationRecord")
    catalog = User.objects.filter(username="catalog").first()
    if catalog is not None:
        MigrationRecord.objects.filter(submitter=None).exclude(seed_id="").update(
            submitter=catalog
        )


def backwards(apps, schema_editor):
    MigrationRecord = apps.get_model("migrations_log", "MigrationRecord")
    MigrationRecord.objects.exclude(seed_id="").filter(submitter__username="catalog").update(
        submitter=None
    )


class Migration(migrations.Migration):
    dependencies = [
        ("migrations_log", "0001_initial"),
        ("cpus", "0009_catalog_owner"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
