"""The Feature rows are written by migrate and seed_catalog only (issue 17): storing a report
never fills the table as a side effect; without the rows it refuses clearly."""

import pytest
from django.apps import apps
from django.core.management import call_command

from cpus import services
from cpus.cpuid import TABLE
from cpus.feature_rows import load_feature_rows
from cpus.models import Feature, FeatureSet

pytestmark = pytest.mark.django_db

SSE2 = TABLE.lookup("sse2")


def test_the_migrated_database_has_every_feature_row():
    assert Feature.objects.count() == len(TABLE)


def test_without_feature_rows_a_new_feature_set_is_refused_and_nothing_is_written():
    Feature.objects.all().delete()
    sets = FeatureSet.objects.count()
    with pytest.raises(services.FeatureTableEmpty, match="seed_catalog"):
        services.feature_set_for(mask=SSE2.mask)
    assert Feature.objects.count() == 0  # the read did not fill the table
    assert FeatureSet.objects.count() == sets  # nor leave a set without its links


def test_post_migrate_fills_an_empty_table_and_leaves_a_full_one_alone():
    Feature.objects.all().delete()
    load_feature_rows(sender=None, apps=apps)
    assert Feature.objects.count() == len(TABLE)
    Feature.objects.filter(index=SSE2.index).update(description="changed by hand")
    load_feature_rows(sender=None, apps=apps)
    assert Feature.objects.get(index=SSE2.index).description == "changed by hand"
    assert services.feature_sync() == 1  # seed_catalog brings it back in step
    feature_set = services.feature_set_for(mask=SSE2.mask)
    assert list(feature_set.features.values_list("index", flat=True)) == [SSE2.index]


@pytest.mark.django_db(transaction=True)
def test_a_flush_is_followed_by_the_feature_rows():
    """Django sends post_migrate after ``flush`` (as after every transactional test): the rows
    come back through the migrate path, not through the first upload."""
    call_command("flush", interactive=False, verbosity=0)
    assert Feature.objects.count() == len(TABLE)
