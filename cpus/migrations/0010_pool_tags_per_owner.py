"""Pool tags are per owner: the owner is required and a name is unique per owner."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cpus", "0009_catalog_owner"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="pooltag",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pool_tags",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterModelOptions(name="pooltag", options={"ordering": ["name", "owner_id"]}),
        migrations.AddConstraint(
            model_name="pooltag",
            constraint=models.UniqueConstraint(
                fields=("owner", "name"), name="pool_tag_unique_per_owner"
            ),
        ),
        migrations.AddIndex(
            model_name="pooltag",
            index=models.Index(fields=["name"], name="pool_tag_name_idx"),
        ),
    ]
