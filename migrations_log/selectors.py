"""Reads of the ledger with bounded query counts."""

from django.db.models import QuerySet

from migrations_log.models import MigrationRecord


def record_list() -> QuerySet[MigrationRecord]:
    return MigrationRecord.objects.select_related(
        "source_report__cpu_model",
        "destination_report__cpu_model",
        "source_report__feature_set",
        "destination_report__feature_set",
        "source_report__host",
        "destination_report__host",
        "source_host",
        "destination_host",
        "submitter",
    ).defer("source_report__raw", "destination_report__raw")


def records_involving(*, cpu_model=None, host=None) -> QuerySet[MigrationRecord]:
    from django.db.models import Q

    if cpu_model is not None:
        condition = Q(source_report__cpu_model=cpu_model) | Q(
            destination_report__cpu_model=cpu_model
        )
    else:
        condition = Q(source_host=host) | Q(destination_host=host)
    return record_list().filter(condition)


def contradictions_involving(*, cpu_model=None, host=None) -> list[MigrationRecord]:
    """Records about this CPU model or host whose outcome contradicts the prediction."""
    return [r for r in records_involving(cpu_model=cpu_model, host=host) if r.contradiction]
