"""Drift: a host's new report compared with its previous one, and what the change affects.

``drift_record`` runs when a host's current report changes (``services.host_attach_report``).
It stores one ``DriftEvent`` when something changed, naming:

* ``vanished`` / ``appeared``: CPU features (canonical names);
* ``stack_changes``: microcode, kernel release and command line (``tsx=``, ``mitigations=``),
  QEMU, libvirt, VMX capabilities (``stack.HostStack.changes_from``);
* ``affected``: ``pools`` (each pool tag of the host whose common features or baseline guest CPU
  change), ``matrix_runs`` (finished runs over the host, now marked stale), ``migrations``
  (recorded migrations of the host whose prediction would change today: filled in by the
  ledger, see below), ``guest_models`` (QEMU/libvirt models the host could run before and
  cannot now: a guest configured with one would no longer start on, or migrate to, this host).

The catalog does not know the ledger: it sends ``drift_affects`` while recording an event, and
each receiver answers entries of ``affected`` (``migrations_log/drift.py`` answers
``migrations``, connected in ``migrations_log/apps.py``); without a receiver ``migrations`` stays
empty.

Then each owner's webhook gets the event (task ``cpus.tasks.drift_webhook_deliver``, queued by
name), after commit, never blocking the upload.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from cpus import selectors
from cpus.cpuid import baseline as pool_baseline
from cpus.cpuid.baseline import names
from cpus.cpuid.stack import HostStack
from cpus.models import DriftEvent, GuestCpuModel, Host, HostReport, MatrixRun, WebhookDelivery
from kbsite.celery import enqueue

log = logging.getLogger(__name__)
MAX_LISTED = 200

# Sent inside the transaction that records a drift event, with ``host`` (the Host), ``before``
# and ``after`` (HostViews of its previous and new report) and ``max_listed``.  A receiver
# returns a dict of ``affected`` entries (lists of at most ``max_listed`` dicts); an exception in
# a receiver abandons the event like any other failure of ``drift_record``.
drift_affects = Signal()


def _pool_changes(host: Host, before, after) -> list[dict]:
    found = []
    for tag in host.tags.all():
        members = (
            Host.objects.filter(tags=tag, current_report__isnull=False)
            .exclude(pk=host.pk)
            .select_related("current_report__feature_set", "current_report__host")
        )
        others = [selectors.report_host_view(m.current_report, m.name) for m in members]
        old_pool, new_pool = [*others, before], [*others, after]
        old_common = new_common = ~0
        for view in old_pool:
            old_common &= view.feature_mask
        for view in new_pool:
            new_common &= view.feature_mask
        try:
            old_spec = pool_baseline.compute(old_pool).qemu_spec
            new_spec = pool_baseline.compute(new_pool).qemu_spec
        except Exception:  # noqa: BLE001 - a pool without a fitted model keeps None
            old_spec = new_spec = None
        lost, gained = names(old_common & ~new_common), names(new_common & ~old_common)
        if lost or gained or old_spec != new_spec:
            found.append(
                {
                    "tag": tag.name,
                    "common_lost": lost,
                    "common_gained": gained,
                    "guest_cpu_before": old_spec,
                    "guest_cpu_after": new_spec,
                    "guest_cpu_changed": old_spec != new_spec,
                }
            )
    return found


def _stale_runs(host: Host) -> list[int]:
    runs = MatrixRun.objects.filter(status=MatrixRun.Status.SUCCEEDED, stale_since__isnull=True)
    if connection.features.supports_json_field_contains:
        ids = list(
            runs.filter(host_ids__contains=[host.pk]).values_list("pk", flat=True)[:MAX_LISTED]
        )
    else:  # SQLite: no JSON containment lookup
        ids = [pk for pk, hosts in runs.values_list("pk", "host_ids") if host.pk in hosts]
        ids = ids[:MAX_LISTED]
    if ids:
        MatrixRun.objects.filter(pk__in=ids).update(stale_since=timezone.now())
    return ids


def _guest_models(before, after, vanished_mask: int) -> list[dict]:
    if not vanished_mask:
        return []
    found = []
    models = GuestCpuModel.objects.filter(source__in=("qemu", "libvirt")).select_related(
        "feature_set"
    )
    for model in models:
        mask = model.feature_set.feature_mask
        if mask & vanished_mask and mask & ~before.feature_mask == 0:
            found.append(
                {
                    "guest_model": model.name,
                    "source": model.source,
                    "features": names(mask & vanished_mask),
                    "consequence": "a guest with this CPU model would no longer start on, or "
                    "migrate to, this host",
                }
            )
    return found[:MAX_LISTED]


def drift_record(*, host: Host, previous: HostReport, current: HostReport) -> DriftEvent | None:
    """Compare ``current`` with ``previous`` for ``host``; store and announce the drift event,
    if anything changed.  Never raises into the upload: a failure is logged."""
    try:
        with transaction.atomic():
            return _drift_record(host, previous, current)
    except Exception:  # noqa: BLE001 - drift must never fail an upload
        log.exception("drift of host %s (report %s -> %s) failed", host.pk, previous.pk, current.pk)
        return None


def _drift_record(host: Host, previous: HostReport, current: HostReport) -> DriftEvent | None:
    before = selectors.report_host_view(previous, host.name)
    after = selectors.report_host_view(current, host.name)
    vanished_mask = before.feature_mask & ~after.feature_mask
    appeared_mask = after.feature_mask & ~before.feature_mask
    stack_changes = HostStack.from_dict(current.stack or {}).changes_from(
        HostStack.from_dict(previous.stack or {})
    )
    if not vanished_mask and not appeared_mask and not stack_changes:
        return None
    affected = {
        "pools": _pool_changes(host, before, after),
        "matrix_runs": _stale_runs(host) if vanished_mask or appeared_mask else [],
        "migrations": [],
        "guest_models": _guest_models(before, after, vanished_mask),
    }
    for _receiver, entries in drift_affects.send(
        sender=DriftEvent, host=host, before=before, after=after, max_listed=MAX_LISTED
    ):
        affected.update(entries or {})
    event = DriftEvent.objects.create(
        host=host,
        from_report=previous,
        to_report=current,
        vanished=names(vanished_mask),
        appeared=names(appeared_mask),
        stack_changes=stack_changes,
        affected=affected,
    )
    _announce(event)
    return event


def _announce(event: DriftEvent) -> None:
    owner = event.host.owner
    hook = getattr(owner, "drift_webhook", None) if owner is not None else None
    if hook is None or not hook.url:
        return
    delivery = WebhookDelivery.objects.create(event=event, url=hook.url)

    def queue_delivery() -> None:
        # By name: the task (cpus/tasks.py) imports this module for the payload.
        try:
            enqueue("cpus.tasks.drift_webhook_deliver", delivery.pk)
        except Exception:  # noqa: BLE001 - broker down: the delivery stays pending
            log.warning("webhook delivery %s not queued (broker unavailable)", delivery.pk)

    transaction.on_commit(queue_delivery)


def event_payload(event: DriftEvent) -> dict:
    """The JSON an event is POSTed (and listed) as."""
    return {
        "id": event.pk,
        "host": {"id": event.host_id, "name": event.host.name},
        "from_report": event.from_report_id,
        "to_report": event.to_report_id,
        "vanished": event.vanished,
        "appeared": event.appeared,
        "stack_changes": event.stack_changes,
        "affected": event.affected,
        "created_at": event.created_at.isoformat(),
    }
