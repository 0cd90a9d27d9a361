"""The audit trail: who changed what and when, written by the services and views that write.

A small model of our own (``AuditEvent``: actor, action, object type and id, a one-line summary,
time) rather than django-simple-history: that library adds a history table per model and a row
per ``save()`` (the seeds alone would write hundreds), and records field values, not what the
user did ("uploaded a report for host x", "deleted record 7").  One table, one row per write,
read by object on the host, report and record pages and the pool page of a tag."""

from __future__ import annotations

from django.db.models import QuerySet

from cpus.models import CATALOG_OWNER, AuditEvent

OBJECT_TYPES = {
    "Host": "host",
    "HostReport": "report",
    "PoolTag": "pool-tag",
    "MigrationRecord": "record",
}


def object_type(obj) -> str:
    return OBJECT_TYPES[type(obj).__name__]


def audit(*, actor, action: str, obj, summary: str = "") -> AuditEvent:
    """Write one event (in the caller's transaction: rolled back with the write it describes)."""
    authenticated = getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_name=(actor.get_username() if authenticated else CATALOG_OWNER)[:150],
        action=action[:32],
        object_type=object_type(obj),
        object_id=obj.pk,
        summary=summary[:300],
    )


def audit_trail(obj, limit: int = 50) -> QuerySet[AuditEvent]:
    """The newest events of one object."""
    return AuditEvent.objects.filter(object_type=object_type(obj), object_id=obj.pk)[:limit]
