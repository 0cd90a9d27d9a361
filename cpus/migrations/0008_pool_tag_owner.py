"""Pool tags get an owner (nullable until 0007 fills it in; 0008 makes it required).

Split in three so that PostgreSQL never alters a table with pending foreign-key checks from
rows updated in the same transaction."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cpus", "0007_matrix_run_notes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="pooltag",
            name="owner",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="pool_tags",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="pooltag", name="name", field=models.SlugField(max_length=64)
        ),
    ]
