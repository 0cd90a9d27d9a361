import django_filters
from django import forms
from django.db.models import Q

from kbsite.filters import AnyBooleanFilter, VendorFilter
from migrations_log.models import Hypervisor, MigrationRecord, Outcome, Verdict


class MigrationRecordFilterSet(django_filters.FilterSet):
    hypervisor = django_filters.ChoiceFilter(choices=Hypervisor.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    predicted_verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    source_vendor = VendorFilter(field_name="source_report__vendor")
    destination_vendor = VendorFilter(field_name="destination_report__vendor")
    cpu_model = django_filters.CharFilter(
        method="by_cpu_model",
        label="CPU (either side)",
        widget=forms.TextInput(attrs={"list": "ledger-cpus", "placeholder": "name or id"}),
    )
    host = django_filters.CharFilter(
        method="by_host",
        label="Host (either side)",
        widget=forms.TextInput(attrs={"list": "ledger-hosts", "placeholder": "name or id"}),
    )
    cross_vendor = AnyBooleanFilter(method="by_cross_vendor", label="Across vendors")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("happened_on", "date"),
            ("hypervisor", "hypervisor"),
            ("guest_cpu", "guest_cpu"),
            ("outcome", "outcome"),
            ("predicted_verdict", "predicted"),
        ),
        label="Sort by",
    )

    class Meta:
        model = MigrationRecord
        fields = [
            "hypervisor",
            "outcome",
            "predicted_verdict",
            "source_vendor",
            "destination_vendor",
            "cpu_model",
            "host",
            "cross_vendor",
        ]

    def by_cpu_model(self, qs, name, value):
        """A CPU model id, or words of its name (brand or codename)."""
        value = value.strip()
        if value.isdigit():
            return qs.filter(
                Q(source_report__cpu_model_id=value) | Q(destination_report__cpu_model_id=value)
            )
        condition = Q()
        for word in value.split()[:8]:
            condition &= (
                Q(source_report__cpu_model__brand__icontains=word)
                | Q(source_report__cpu_model__codename__icontains=word)
                | Q(destination_report__cpu_model__brand__icontains=word)
                | Q(destination_report__cpu_model__codename__icontains=word)
            )
        return qs.filter(condition)

    def by_host(self, qs, name, value):
        """A host id or its name (exactly, any case)."""
        value = value.strip()
        if value.isdigit():
            return qs.filter(Q(source_host_id=value) | Q(destination_host_id=value))
        return qs.filter(
            Q(source_host__name__iexact=value) | Q(destination_host__name__iexact=value)
        )

    def by_cross_vendor(self, qs, name, value):
        from django.db.models import F

        same = Q(source_report__vendor=F("destination_report__vendor"))
        return qs.exclude(same) if value else qs.filter(same)
