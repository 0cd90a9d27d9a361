"""The Feature rows are the feature table's (``cpus.cpuid.TABLE``): one row per entry, with these
values.  Written only by ``migrate`` (the data migration 0002, then ``load_feature_rows`` after
every migrate: Django also sends post_migrate after a test flush) and by ``seed_catalog``
(``services.feature_sync``); never as a side effect of a read or an upload."""

from __future__ import annotations

from django.apps import apps as global_apps

from cpus.cpuid import TABLE


def feature_values(entry) -> dict:
    """The Feature row's fields (but ``index``) for one feature table entry."""
    return {
        "name": entry.name,
        "linux_name": entry.linux or "",
        "qemu_name": entry.qemu or "",
        "libvirt_name": entry.libvirt or "",
        "leaf": entry.leaf,
        "subleaf": entry.subleaf,
        "register": entry.register or "",
        "msr": entry.msr,
        "bit": entry.bit,
        "vendor": entry.vendor,
        "kind": entry.kind,
        "migratable": entry.migratable,
        "linux_hidden": entry.linux_hidden,
        "description": entry.location,
    }


def load_feature_rows(sender, apps=None, using="default", **kwargs) -> None:
    """post_migrate: fill an empty Feature table from the feature table (a database migrated
    from scratch has it from 0002 already; a test flush empties it).  A table that has rows is
    left to ``seed_catalog``, which brings changed entries in step."""
    try:  # migrate passes the migrated state's registry; flush passes none
        feature = (apps or global_apps).get_model("cpus", "Feature")
    except LookupError:  # cpus migrated to zero
        return
    rows = feature.objects.using(using)
    if rows.exists():
        return
    rows.bulk_create(
        [feature(index=entry.index, **feature_values(entry)) for entry in TABLE],
        ignore_conflicts=True,
    )
