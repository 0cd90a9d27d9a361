"""The system owner of seeded and curated data, and pool tags per owner.

Creates the inactive ``catalog`` account (no usable password) and gives it every row that had no
owner: seeded hosts, reports stored without an uploader.  Pool tags become per owner: a tag
keeps the catalog's hosts (so ``demo-2008`` is curated); every other owner whose hosts carried
it gets a tag of their own with the same name, and their hosts move to it.  Reversing it puts
the rows back (same-named tags of different owners are merged into one)."""

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import migrations

CATALOG_OWNER = "catalog"


def forwards(apps, schema_editor):
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    Host = apps.get_model("cpus", "Host")
    HostReport = apps.get_model("cpus", "HostReport")
    PoolTag = apps.get_model("cpus", "PoolTag")
    catalog, _ = User.objects.get_or_create(
        username=CATALOG_OWNER, defaults={"is_active": False, "password": make_password(None)}
    )
    Host.objects.filter(owner=None).update(owner=catalog)
    HostReport.objects.filter(uploaded_by=None).update(uploaded_by=catalog)
    Through = Host.tags.through
    for tag in PoolTag.objects.all():
        links = Through.objects.filter(pooltag_id=tag.pk).select_related("host")
        owners = sorted({link.host.owner_id for link in links})
        keeper = catalog.pk if catalog.pk in owners or not owners else owners[0]
        tag.owner_id = keeper
        tag.save(update_fields=["owner"])
        for owner_id in owners:
            if owner_id == keeper:
                continue
            own = PoolTag.objects.create(name=tag.name, owner_id=owner_id)
            for link in links.filter(host__owner_id=owner_id):
                Through.objects.filter(pk=link.pk).update(pooltag_id=own.pk)


def backwards(apps, schema_editor):
    PoolTag = apps.get_model("cpus", "PoolTag")
    Host = apps.get_model("cpus", "Host")
    Through = Host.tags.through
    keep: dict[str, int] = {}
    for tag in PoolTag.objects.order_by("id"):
        if tag.name not in keep:
            keep[tag.name] = tag.pk
            continue
        for link in Through.objects.filter(pooltag_id=tag.pk):
            if Through.objects.filter(host_id=link.host_id, pooltag_id=keep[tag.name]).exists():
                link.delete()
            else:
                Through.objects.filter(pk=link.pk).update(pooltag_id=keep[tag.name])
        tag.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cpus", "0008_pool_tag_owner"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
