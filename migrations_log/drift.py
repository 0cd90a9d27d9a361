"""What a host's drift changes in the ledger: recorded migrations of the host whose prediction
would change today.

The catalog records drift (``cpus/drift.py``) without knowing the ledger; it sends
``cpus.drift.drift_affects`` and ``migrations_affected`` answers the ``migrations`` entry of the
event's ``affected`` (connected in ``migrations_log/apps.py``).
"""

from __future__ import annotations

from django.db.models import Q

from cpus import selectors
from cpus.cpuid import compat
from migrations_log.models import MigrationRecord


def migrations_affected(sender, *, host, after, max_listed: int, **_kwargs) -> dict:
    """``{"migrations": [...]}``: each recorded migration from or to ``host`` (at most
    ``max_listed`` looked at) whose verdict, checked again with the host's new report ``after``
    (a HostView), differs from the one predicted when it was recorded."""
    found = []
    records = MigrationRecord.objects.filter(
        Q(source_host=host) | Q(destination_host=host)
    ).select_related("source_report__feature_set", "destination_report__feature_set")
    for record in records[:max_listed]:
        source = (
            after
            if record.source_host_id == host.pk
            else selectors.report_host_view(record.source_report)
        )
        destination = (
            after
            if record.destination_host_id == host.pk
            else selectors.report_host_view(record.destination_report)
        )
        hypervisor = record.hypervisor if record.hypervisor in compat.HYPERVISORS else None
        if hypervisor is None:
            continue
        try:
            verdict = compat.check(source, destination, record.guest_cpu, hypervisor, suggest=False)
        except ValueError:
            continue
        if verdict.verdict != record.predicted_verdict:
            found.append(
                {
                    "id": record.pk,
                    "guest_cpu": record.guest_cpu,
                    "hypervisor": hypervisor,
                    "predicted": record.predicted_verdict,
                    "now": verdict.verdict,
                }
            )
    return {"migrations": found}
