"""One FilterSet per list, serving both the HTML pages and the API (as NetBox does)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Count, Q

from cpus import services
from cpus.cpuid import TABLE
from cpus.cpuid.assists import MECHANISMS
from cpus.cpuid.identity import VENDOR_STRINGS_BY_NAME
from cpus.models import CpuModel, Feature, FeatureSet, GuestCpuModel, Host, HostReport
from kbsite.filters import AnyBooleanFilter, HexOrDecimalFilter, VendorFilter

# Most distinct words of a free-text search (each is four case-insensitive LIKEs).
MAX_SEARCH_WORDS = 8
# Most names one has_feature/lacks_feature filter takes: far more than any real question needs,
# few enough that the one subquery below stays cheap (issue 19: forty repeated names used to
# mean forty joins and a PostgreSQL backend of 5.9 GB while planning).
MAX_FEATURE_NAMES = 32


def feature_names(values) -> list[str]:
    """Distinct canonical names for ``values`` (any vocabulary), in first-seen order; names
    the table does not know are kept as given so the form can name them."""
    seen: dict[str, None] = {}
    for value in values or []:
        feature = TABLE.lookup(value)
        seen.setdefault(feature.name if feature is not None else value, None)
    return list(seen)


class FeatureFilterForm(forms.Form):
    """Refuses unknown feature names with a 400 that names them, instead of an empty list, and
    more than ``MAX_FEATURE_NAMES`` distinct names per filter."""

    def clean(self):
        cleaned = super().clean()
        words = set((cleaned.get("q") or "").split())
        if len(words) > MAX_SEARCH_WORDS:
            self.add_error(
                "q",
                forms.ValidationError(
                    "at most %(limit)d words per search (%(count)d given)",
                    params={"limit": MAX_SEARCH_WORDS, "count": len(words)},
                    code="too_many_words",
                ),
            )
        for key in ("has_feature", "lacks_feature"):
            values = cleaned.get(key) or []
            unknown = list(dict.fromkeys(name for name in values if TABLE.lookup(name) is None))
            if unknown:
                # Params, not an f-string: a '%' in a user's name must not reach %-formatting.
                self.add_error(
                    key,
                    forms.ValidationError(
                        "unknown feature %(names)s (Linux, QEMU and libvirt names are accepted)",
                        params={"names": ", ".join(unknown[:MAX_FEATURE_NAMES])},
                        code="unknown_feature",
                    ),
                )
            elif len(feature_names(values)) > MAX_FEATURE_NAMES:
                self.add_error(
                    key,
                    forms.ValidationError(
                        "at most %(limit)d distinct feature names per filter (%(count)d given)",
                        params={"limit": MAX_FEATURE_NAMES, "count": len(feature_names(values))},
                        code="too_many_features",
                    ),
                )
        return cleaned


class FeatureListFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Repeatable (``?has_feature=a&has_feature=b``) or comma-separated feature names.

    One query shape whatever the number of names: the names become distinct canonical names,
    then one subquery over the feature-set/feature link table keeps the feature sets that have
    all of them (``GROUP BY feature set HAVING COUNT(DISTINCT feature) = n``) or, for
    ``lacks_feature``, excludes those that have any.  The old shape joined the link table once
    per name (and then needed ``DISTINCT``), which PostgreSQL planned in time and memory that
    grew with every repeated name.
    """

    def __init__(self, *args, exclude_matches: bool = False, **kwargs):
        self.exclude_matches = exclude_matches
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        names = feature_names(value)
        if len(names) > MAX_FEATURE_NAMES or any(TABLE.lookup(n) is None for n in names):
            return qs.none()  # refused by FeatureFilterForm; never reached through the form
        links = FeatureSet.features.through.objects.filter(feature__name__in=names)
        if self.exclude_matches:
            return qs.exclude(**{f"{self.field_name}_id__in": links.values("featureset_id")})
        having_all = (
            links.values("featureset_id")
            .annotate(matched=Count("feature_id", distinct=True))
            .filter(matched=len(names))
            .values("featureset_id")
        )
        return qs.filter(**{f"{self.field_name}_id__in": having_all})


class _FeatureFilterMixin(django_filters.FilterSet):
    def __init__(self, data=None, *args, **kwargs):
        # Accept repeated query parameters as well as comma-separated values.
        if data is not None and hasattr(data, "getlist"):
            data = data.copy()
            for key in ("has_feature", "lacks_feature"):
                values = [v for item in data.getlist(key) for v in item.split(",") if v.strip()]
                if values:
                    data.setlist(key, [",".join(values)])
        super().__init__(data, *args, **kwargs)


class StableOrderingFilter(django_filters.OrderingFilter):
    """Column sorting with the primary key as the last key, so pages never overlap."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.order_by(*(self.get_ordering_value(param) for param in value), "pk")


# Sortable columns of the catalog: query value -> model field (or annotation).
CPU_SORT_FIELDS = {
    "cpu": "brand",
    "vendor": "vendor",
    "family": "family",
    "model": "model",
    "stepping": "stepping",
    "codename": "codename",
    "microarchitecture": "microarchitecture",
    "features": "feature_set__feature_count",
    "reports": "report_count",
}


class CpuModelFilterSet(_FeatureFilterMixin):
    q = django_filters.CharFilter(method="search", label="Search")
    vendor = VendorFilter(field_name="vendor")
    family = HexOrDecimalFilter(label="Family (16 or 0x10)")
    model = HexOrDecimalFilter(label="Model (2 or 0x2)")
    codename = django_filters.CharFilter(lookup_expr="icontains")
    microarchitecture = django_filters.CharFilter(lookup_expr="icontains")
    has_assist = django_filters.ChoiceFilter(
        choices=[(key, key) for key in MECHANISMS],
        method="filter_assist",
        label="Has assist",
    )
    has_feature = FeatureListFilter(field_name="feature_set", label="Has features")
    lacks_feature = FeatureListFilter(
        field_name="feature_set", exclude_matches=True, label="Lacks features"
    )
    real = AnyBooleanFilter(method="filter_real", label="Real processor")
    ordering = StableOrderingFilter(
        fields={field: key for key, field in CPU_SORT_FIELDS.items()},
        label="Sort by",
    )

    class Meta:
        model = CpuModel
        form = FeatureFilterForm
        fields = [
            "q",
            "vendor",
            "family",
            "model",
            "codename",
            "microarchitecture",
            "has_assist",
            "has_feature",
            "lacks_feature",
            "real",
        ]

    def filter_real(self, qs, name, value):
        """Real processors: at least one report taken on a host (not inside a VM, not a QEMU
        model stand-in); ``false`` keeps the others."""
        if value is None:
            return qs
        return qs.filter(real_reports__gt=0) if value else qs.filter(real_reports=0)

    def filter_assist(self, qs, name, value):
        return qs.filter(assist_keys__contains=f",{value},")

    def search(self, qs, name, value):
        condition = Q()
        for word in list(dict.fromkeys(value.split()))[:MAX_SEARCH_WORDS]:
            vendors = VENDOR_STRINGS_BY_NAME.get(word.lower(), ())
            condition &= (
                Q(vendor__in=vendors)
                | Q(brand__icontains=word)
                | Q(codename__icontains=word)
                | Q(microarchitecture__icontains=word)
                | Q(vendor__icontains=word)
            )
        return qs.filter(condition)


class HostReportFilterSet(_FeatureFilterMixin):
    vendor = VendorFilter()
    format = django_filters.CharFilter()
    in_vm = AnyBooleanFilter(label="Taken inside a VM")
    cpu_model = django_filters.NumberFilter(field_name="cpu_model_id")
    has_feature = FeatureListFilter(field_name="feature_set", label="Has features")
    lacks_feature = FeatureListFilter(
        field_name="feature_set", exclude_matches=True, label="Lacks features"
    )

    class Meta:
        model = HostReport
        form = FeatureFilterForm
        fields = ["vendor", "format", "in_vm", "cpu_model", "has_feature", "lacks_feature"]


class HostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    tag = django_filters.CharFilter(method="filter_tag", label="Pool tag")
    vendor = VendorFilter(field_name="current_report__vendor")

    class Meta:
        model = Host
        fields = ["q", "tag", "vendor"]

    def filter_tag(self, qs, name, value):
        """A pool tag as the user sees the name: their own tag, else the curated one; never
        another user's tag of the same name (issue 19)."""
        return services.hosts_tagged(qs, value, getattr(self.request, "user", None))


class FeatureFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    vendor = django_filters.CharFilter()
    kind = django_filters.CharFilter()
    leaf = django_filters.CharFilter(method="by_leaf", label="CPUID leaf (hex)")
    migratable = AnyBooleanFilter()

    class Meta:
        model = Feature
        fields = ["q", "vendor", "kind", "leaf", "migratable"]

    def search(self, qs, name, value):
        return qs.filter(
            Q(name__icontains=value)
            | Q(qemu_name__icontains=value)
            | Q(libvirt_name__icontains=value)
        )

    def by_leaf(self, qs, name, value):
        try:
            return qs.filter(leaf=int(value, 16))
        except ValueError:
            return qs.none()


class GuestCpuModelFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    source = django_filters.ChoiceFilter(choices=GuestCpuModel._meta.get_field("source").choices)
    vendor = django_filters.CharFilter(lookup_expr="iexact")
    has_feature = FeatureListFilter(field_name="feature_set", label="Has features")
    migration_safe = AnyBooleanFilter()
    deprecated = AnyBooleanFilter()

    class Meta:
        model = GuestCpuModel
        form = FeatureFilterForm
        fields = ["q", "source", "vendor", "migration_safe", "deprecated", "has_feature"]
