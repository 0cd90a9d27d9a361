import django_filters
from django.db.models import Q

from migrations_log.models import Hypervisor, MigrationRecord, Outcome, Verdict


class MigrationRecordFilterSet(django_filters.FilterSet):
    hypervisor = django_filters.ChoiceFilter(choices=Hypervisor.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    predicted_verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    source_vendor = django_filters.CharFilter(
        field_name="source_report__vendor", lookup_expr="iexact"
    )
    destination_vendor = django_filters.CharFilter(
        field_name="destination_report__vendor", lookup_expr="iexact"
    )
    cpu_model = django_filters.NumberFilter(method="by_cpu_model", label="CPU model (either side)")
    host = django_filters.NumberFilter(method="by_host", label="Host (either side)")
    cross_vendor = django_filters.BooleanFilter(method="by_cross_vendor", label="Across vendors")

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
        return qs.filter(
            Q(source_report__cpu_model_id=value) | Q(destination_report__cpu_model_id=value)
        )

    def by_host(self, qs, name, value):
        return qs.filter(Q(source_host_id=value) | Q(destination_host_id=value))

    def by_cross_vendor(self, qs, name, value):
        from django.db.models import F

        same = Q(source_report__vendor=F("destination_report__vendor"))
        return qs.exclude(same) if value else qs.filter(same)
