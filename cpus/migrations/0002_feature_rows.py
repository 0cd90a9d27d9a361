"""Load the feature table into Feature rows (seed_catalog keeps them in sync afterwards)."""

from django.db import migrations


def load_features(apps, schema_editor):
    from cpus.cpuid import TABLE

    Feature = apps.get_model("cpus", "Feature")
    Feature.objects.bulk_create(
        [
            Feature(
                index=entry.index,
                name=entry.name,
                linux_name=entry.linux or "",
                qemu_name=entry.qemu or "",
                libvirt_name=entry.libvirt or "",
                leaf=entry.leaf,
                subleaf=entry.subleaf,
                register=entry.register or "",
                msr=entry.msr,
                bit=entry.bit,
                vendor=entry.vendor,
                kind=entry.kind,
                migratable=entry.migratable,
                linux_hidden=entry.linux_hidden,
                description=entry.location,
            )
            for entry in TABLE
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("cpus", "0001_initial")]
    operations = [migrations.RunPython(load_features, migrations.RunPython.noop)]
