"""Writes to the catalog: ingesting host reports, deduplicating feature sets and CPU models,
syncing the feature table, re-decoding stored reports.  Keyword-only ``<entity>_<action>``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from cpus import drift
from cpus.audit import audit
from cpus.cpuid import (
    DECODER_VERSION,
    RAW_FORMATS,
    TABLE,
    DecodedDump,
    decode,
    guest_models,
    qemu_probe,
    vmx,
)
from cpus.cpuid.assists import assists_of
from cpus.cpuid.baseline import host_facts
from cpus.cpuid.formats import qmp
from cpus.cpuid.microarchitectures import microarchitecture
from cpus.cpuid.stack import HostStack, stack_from_libvirt_xml
from cpus.feature_rows import feature_values
from cpus.models import (
    CATALOG_OWNER,
    CpuModel,
    Feature,
    FeatureSet,
    GuestCpuModel,
    Host,
    HostReport,
    PoolTag,
    RedecodeRun,
)
from cpus.refs import HostRefError, not_found_message
from cpus.selectors import cpu_model_report


class WriteRefused(PermissionDenied):
    """A write without an account (the views refuse it first; this is the services' own rule)."""


def catalog_owner():
    """The system owner of seeded and curated data (created if missing: by migration cpus 0007
    normally).  Inactive, with no usable password: nobody signs in as it."""
    user, _ = get_user_model().objects.get_or_create(
        username=CATALOG_OWNER,
        defaults={"is_active": False, "password": make_password(None)},
    )
    return user


def writer(user):
    """The account a write is made as.  ``None`` means the system (management commands and
    seeds): the catalog owner.  An anonymous user is refused: every write takes an account."""
    if user is None:
        return catalog_owner()
    if not getattr(user, "is_authenticated", False):
        raise WriteRefused("storing anything takes an account: sign in first")
    return user


class FeatureTableEmpty(RuntimeError):
    """The Feature rows were never loaded (a database without the cpus migrations' data)."""


def feature_sync() -> int:
    """Make the Feature rows match the table; returns how many rows changed."""
    changed = 0
    existing = {feature.index: feature for feature in Feature.objects.all()}
    for entry in TABLE:
        values = feature_values(entry)
        row = existing.get(entry.index)
        if row is None:
            Feature.objects.create(index=entry.index, **values)
            changed += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            Feature.objects.filter(pk=row.pk).update(**values)
            changed += 1
    return changed


def decode_upload(data: str | bytes) -> DecodedDump:
    """The core's ``decode`` with the site's one upload-size limit, ``CPUKB_MAX_UPLOAD_BYTES``
    (a larger setting raises the core's default limit; a smaller one lowers it)."""
    return decode(data, max_bytes=settings.CPUKB_MAX_UPLOAD_BYTES)


def decode_stored(raw: str) -> DecodedDump:
    """Decode a stored report again: it was accepted once, so a setting lowered since does not
    refuse it."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    return decode(raw, max_bytes=max(settings.CPUKB_MAX_UPLOAD_BYTES, size))


def feature_set_for(
    *, mask: int, unknown_mask: int = 0, absent_means_unknown: bool = False
) -> FeatureSet:
    """The one FeatureSet row for these bits (created with its feature links if new).

    The Feature rows are the feature table's, loaded by the data migration (cpus 0002) and kept
    in step by ``seed_catalog`` (``feature_sync``): this function never writes them.  Without
    them a new set could not link its features, so it refuses (FeatureTableEmpty) instead."""
    digest = hashlib.sha256(
        f"{mask:x}:{unknown_mask:x}:{int(absent_means_unknown)}".encode()
    ).hexdigest()
    indexes = [feature.index for feature in TABLE.from_mask(mask)]
    # get_or_create: a parallel upload of another dump with the same bits creates the row at the
    # same moment; the loser of the unique digest reads the winner's row (no 500, no loss).
    with transaction.atomic():  # a refused new set is not left behind without its links
        feature_set, created = FeatureSet.objects.get_or_create(
            digest=digest,
            defaults={
                "mask": f"{mask:x}",
                "unknown_mask": f"{unknown_mask:x}",
                "absent_means_unknown": absent_means_unknown,
                "feature_count": len(indexes),
            },
        )
        if created:
            features = list(Feature.objects.filter(index__in=indexes))
            if indexes and not features and not Feature.objects.exists():
                raise FeatureTableEmpty(
                    "the Feature table is empty: run `manage.py migrate` (cpus 0002 loads it) "
                    "or `manage.py seed_catalog` (feature_sync) before storing reports"
                )
            feature_set.features.set(features)
    return feature_set


def _exactness(*, in_vm: bool, is_raw: bool, unknown: int) -> tuple:
    """How good a view of the silicon a report is: on the host > in a VM; raw bits > names."""
    return (not in_vm, is_raw, -bin(unknown).count("1"))


@dataclass(frozen=True)
class CpuLabel:
    codename: str = ""
    microarchitecture: str = ""
    launch_year: int | None = None


def _assist_fields(decoded: DecodedDump) -> dict:
    """The CPU's migration assists as stored on CpuModel (``assist_keys`` = ",k1,k2,")."""
    report = assists_of(decoded)
    keys = report.available_keys
    return {"assists": report.to_dict(), "assist_keys": f",{','.join(keys)}," if keys else ""}


def cpu_model_for(
    *, decoded: DecodedDump, feature_set: FeatureSet, label: CpuLabel = CpuLabel()
) -> CpuModel:
    """The CpuModel of a decoded report (created if new).  Its feature set and assists follow
    the most exact report of that CPU: a raw dump taken on the host beats a name list or a VM."""
    identity = decoded.identity
    cpu_model, created = CpuModel.objects.get_or_create(
        vendor=identity.vendor,
        family=identity.family,
        model=identity.model,
        stepping=identity.stepping,
        brand=identity.brand[:64],
        defaults={
            "feature_set": feature_set,
            "codename": label.codename,
            "microarchitecture": label.microarchitecture
            or microarchitecture(identity.vendor, identity.family, identity.model),
            "launch_year": label.launch_year,
            **_assist_fields(decoded),
        },
    )
    if created:
        return cpu_model
    updates = {}
    current = cpu_model.feature_set
    current_report = cpu_model.reports.filter(feature_set=current).first()
    current_rank = (
        _exactness(
            in_vm=current_report.in_vm, is_raw=current_report.is_raw, unknown=current.unknown
        )
        if current_report
        else (False, False, -(10**6))
    )
    new_rank = _exactness(
        in_vm=identity.in_vm, is_raw=decoded.format in RAW_FORMATS, unknown=decoded.unknown_mask
    )
    if new_rank > current_rank:
        updates["feature_set"] = feature_set
        updates.update(_assist_fields(decoded))
    for field in ("codename", "microarchitecture", "launch_year"):
        if getattr(label, field) and not getattr(cpu_model, field):
            updates[field] = getattr(label, field)
    if updates:
        CpuModel.objects.filter(pk=cpu_model.pk).update(**updates)
        cpu_model.refresh_from_db()
    return cpu_model


def cpu_models_refresh_assists() -> int:
    """Fill in the assists of CPU models stored before assists existed; returns how many."""
    refreshed = 0
    for cpu_model in CpuModel.objects.filter(assists={}):
        report = cpu_model.reports.filter(feature_set=cpu_model.feature_set).first()
        if report is None:
            continue
        CpuModel.objects.filter(pk=cpu_model.pk).update(**_assist_fields(decode_stored(report.raw)))
        refreshed += 1
    return refreshed


def _report_fields(decoded: DecodedDump) -> dict:
    identity = decoded.identity
    return {
        "format": decoded.format,
        "decoder_version": decoded.decoder_version,
        "warnings": list(decoded.warnings),
        "vendor": identity.vendor[:16],
        "family": identity.family,
        "model": identity.model,
        "stepping": identity.stepping,
        "brand": identity.brand[:64],
        "signature": "" if identity.signature is None else f"{identity.signature:08x}",
        "phys_bits": identity.phys_bits,
        "virt_bits": identity.virt_bits,
        "in_vm": identity.in_vm,
        "hypervisor_vendor": (identity.hypervisor_vendor or "")[:32],
        "cpu_count": decoded.cpu_count,
        "host_facts": host_facts(decoded),
    }


def _qmp_vmx(text: str) -> frozenset[str] | None:
    """The vmx-* properties a QMP expansion reports true (QEMU's own names for the VMX
    capabilities it can give a guest on this host); None when it reports none either way."""
    try:
        _model, props = qmp._expansion(text)
    except Exception:  # noqa: BLE001 - the decoder already accepted the text
        return None
    named = {name: value for name, value in props.items() if name.startswith("vmx-")}
    if not named:
        return None
    return frozenset(name for name, value in named.items() if value is True)


def report_stack_of(decoded: DecodedDump, text: str, given: dict | None) -> dict:
    """The stack to store with a report: what the upload's own text says (virsh capabilities'
    microcode and machine types; VMX capability MSRs of cpudata/AIDA64 rows), overridden by the
    fields the uploader gave.  {} when nothing is known.  StackError on a bad field."""
    stated = HostStack.from_dict(given or {})
    said = HostStack.from_dict(stack_from_libvirt_xml(text))
    vmx_features = vmx.decode(decoded.msrs) if decoded.msrs else None
    if vmx_features is None and decoded.format == "qmp":
        vmx_features = _qmp_vmx(text)
    if vmx_features is not None:
        said = replace(said, vmx_features=vmx_features)
    combined = stated.merged(said)
    return {} if combined.is_empty else combined.to_dict()


# Attempts of an upload that loses a race on a unique key (the same text, or the same host name,
# stored by a parallel request): each attempt reads again what the winner committed.
INGEST_ATTEMPTS = 3


def report_ingest(
    *,
    raw: str | bytes,
    host_name: str = "",
    uploaded_by=None,
    source: str = "",
    tags: tuple[str, ...] = (),
    label: CpuLabel = CpuLabel(),
    decoded: DecodedDump | None = None,
    stack: dict | None = None,
) -> tuple[HostReport, bool]:
    """Decode and store a host report.  Returns (report, created); the same raw text twice is
    one report.  Raises DumpParseError before anything is written, WriteRefused for an
    anonymous user; ``uploaded_by=None`` stores it as the catalog's (management commands).
    ``decoded`` is the result of ``decode(raw)`` when the caller already has it (import_dumps
    decodes in worker processes).  The same text with another ``stack`` is another report, so
    a host's history keeps a microcode or QEMU update even when CPUID did not change (StackError
    on a bad stack field, before anything is written).

    With ``host_name`` the report becomes the current one of the uploader's own host of that
    name (created if new): never of another owner's host, so a curated host cannot be
    repointed by an upload under its name.

    Safe under concurrency: the writes happen in a savepoint; a unique-key collision with a
    parallel request (same text, same feature set or CPU model, same host) rolls back only this
    attempt, which then reads the committed rows and tries again."""
    uploader = writer(uploaded_by)
    if decoded is None:
        decoded = decode_upload(raw)  # refuses bad input before any write
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    report_stack = report_stack_of(decoded, text, stack)
    sha256 = _report_sha256(text, report_stack)
    for attempt in range(1, INGEST_ATTEMPTS + 1):
        try:
            return _report_store(
                decoded=decoded,
                text=text,
                sha256=sha256,
                uploader=uploader,
                host_name=host_name,
                source=source,
                tags=tags,
                label=label,
                stack=report_stack,
            )
        except IntegrityError:
            if attempt == INGEST_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _report_sha256(text: str, report_stack: dict) -> str:
    """The deduplication key of a report: its text, and its stack when it has one."""
    digest = text if not report_stack else text + "\0" + json.dumps(report_stack, sort_keys=True)
    return hashlib.sha256(digest.encode("utf-8")).hexdigest()


def report_as_stored(raw: str | bytes, *, stack: dict | None = None) -> HostReport:
    """The report an upload of ``raw`` would be, storing nothing: the stored one when this exact
    text (and stack) was uploaded before, else an unsaved HostReport with the fields, feature
    masks, host facts and stack ``report_ingest`` would give it, so what the engine answers for
    it equals what it answers once it is stored.  DumpParseError and StackError as
    ``report_ingest``; no query writes."""
    decoded = decode_upload(raw)
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    report_stack = report_stack_of(decoded, text, stack)
    sha256 = _report_sha256(text, report_stack)
    existing = (
        HostReport.objects.filter(sha256=sha256).select_related("feature_set", "host").first()
    )
    if existing is not None:
        return existing
    feature_set = FeatureSet(
        mask=f"{decoded.feature_mask:x}",
        unknown_mask=f"{decoded.unknown_mask:x}",
        absent_means_unknown=decoded.absent_means_unknown,
    )
    return HostReport(
        raw=text,
        sha256=sha256,
        feature_set=feature_set,
        stack=report_stack,
        **_report_fields(decoded),
    )


def _report_store(
    *,
    decoded: DecodedDump,
    text: str,
    sha256: str,
    uploader,
    host_name,
    source,
    tags,
    label,
    stack: dict,
) -> tuple[HostReport, bool]:
    with transaction.atomic():
        existing = (
            HostReport.objects.filter(sha256=sha256)
            .select_related("cpu_model", "feature_set", "host")
            .first()
        )
        if existing is not None:
            if host_name:  # the same text from another machine: one report, shared by both hosts
                host_attach_report(host_name=host_name, owner=uploader, report=existing, tags=tags)
            return existing, False
        feature_set = feature_set_for(
            mask=decoded.feature_mask,
            unknown_mask=decoded.unknown_mask,
            absent_means_unknown=decoded.absent_means_unknown,
        )
        cpu_model = cpu_model_for(decoded=decoded, feature_set=feature_set, label=label)
        report = HostReport.objects.create(
            raw=text,
            sha256=sha256,
            feature_set=feature_set,
            cpu_model=cpu_model,
            uploaded_by=uploader,
            source=source[:200],
            stack=stack,
            **_report_fields(decoded),
        )
        audit(
            actor=uploader,
            action="uploaded",
            obj=report,
            summary=f"{decoded.format}, {report.brand or report.vendor}"
            + (f", for host {host_name[:100]}" if host_name else ""),
        )
        if host_name:
            host_attach_report(host_name=host_name, owner=uploader, report=report, tags=tags)
    return report, True


def host_attach_report(
    *, host_name: str, owner, report: HostReport, tags: tuple[str, ...] = ()
) -> Host:
    """Make ``report`` the current report of the owner's host ``host_name`` (created if new)."""
    host, created = Host.objects.get_or_create(name=host_name[:100], owner=writer(owner))
    previous = host.current_report_id
    host.current_report = report
    host.save(update_fields=["current_report"])
    if created or previous != report.pk:
        audit(
            actor=host.owner,
            action="created" if created else "report changed",
            obj=host,
            summary=f"current report {report.pk}"
            + ("" if created or previous is None else f" (was {previous})"),
        )
    if report.host_id is None:  # a report keeps the host it first came from
        HostReport.objects.filter(pk=report.pk).update(host=host)
        report.host = host
    for tag in tags:
        host.tags.add(pool_tag_for(owner=host.owner, name=tag))
    if previous is not None and previous != report.pk:
        previous_report = HostReport.objects.select_related("feature_set").get(pk=previous)
        drift.drift_record(host=host, previous=previous_report, current=report)
    return host


def report_redecode(*, report: HostReport) -> bool:
    """Decode a stored report again with the current decoder; True when something changed."""
    decoded = decode_stored(report.raw)
    feature_set = feature_set_for(
        mask=decoded.feature_mask,
        unknown_mask=decoded.unknown_mask,
        absent_means_unknown=decoded.absent_means_unknown,
    )
    fields = _report_fields(decoded)
    changed = feature_set.pk != report.feature_set_id or any(
        getattr(report, k) != v for k, v in fields.items()
    )
    if changed:
        cpu_model = cpu_model_for(decoded=decoded, feature_set=feature_set)
        HostReport.objects.filter(pk=report.pk).update(
            feature_set=feature_set, cpu_model=cpu_model, **fields
        )
    return changed


def redecode_run_start() -> RedecodeRun | None:
    """A run for the reports decoded by an older decoder, or None when all are current."""
    stale = HostReport.objects.exclude(decoder_version=DECODER_VERSION).count()
    if not stale:
        return None
    return RedecodeRun.objects.create(decoder_version=DECODER_VERSION, total=stale)


def redecode_run_execute(*, run: RedecodeRun, batch: int = 50) -> RedecodeRun:
    """Re-decode every stale report, writing progress after each batch.  Idempotent."""
    RedecodeRun.objects.filter(pk=run.pk).update(status=RedecodeRun.Status.RUNNING)
    failures = list(run.failures)
    done = 0
    stale = HostReport.objects.exclude(decoder_version=DECODER_VERSION).order_by("id")
    for report in stale.iterator(chunk_size=batch):
        try:
            with transaction.atomic():
                report_redecode(report=report)
        except Exception as error:  # noqa: BLE001 - one bad report must not stop the run
            failures.append({"report": report.pk, "error": str(error)})
        done += 1
        if done % batch == 0:
            RedecodeRun.objects.filter(pk=run.pk).update(done=done, failures=failures)
    RedecodeRun.objects.filter(pk=run.pk).update(
        done=done,
        failures=failures,
        status=RedecodeRun.Status.FAILED if failures else RedecodeRun.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


def guest_models_sync(*, libvirt_cpu_map: str | None = None, qemu_binary: str | None = None) -> int:
    """Load the named guest CPU models of every source into GuestCpuModel; returns rows changed.

    The bundled QEMU 7.2 and libvirt 9.0 snapshots are used unless a local QEMU binary (asked
    over QMP) or an installed libvirt cpu_map directory is given."""
    qemu_document = qemu_probe.probe(qemu_binary) if qemu_binary else None
    changed = 0
    for guest in guest_models.all_guest_models(
        qemu_document=qemu_document, libvirt_cpu_map=libvirt_cpu_map
    ):
        feature_set = feature_set_for(mask=guest.feature_mask)
        values = {
            "version": f"v{guest.version}" if guest.version else "",
            "aliases": ", ".join(guest.aliases)[:200],
            # EVC modes are labelled with vCenter's display name (``Intel "Penryn" Generation``).
            "label": (guest.vcenter_name or guest.label or "")[:100],
            "vendor": (guest.vendor or "")[:16],
            "feature_set": feature_set,
            "migration_safe": guest.migration_safe,
            "deprecated": guest.deprecated,
            "origin": guest.origin[:300],
        }
        row = GuestCpuModel.objects.filter(source=guest.source, name=guest.name).first()
        if row is None:
            GuestCpuModel.objects.create(source=guest.source, name=guest.name, **values)
            changed += 1
        elif any(getattr(row, key) != value for key, value in values.items()):
            GuestCpuModel.objects.filter(pk=row.pk).update(**values)
            changed += 1
    return changed


def pool_tag_for(*, owner, name: str) -> PoolTag:
    """The owner's pool tag ``name`` (created if new).  Tags are per owner: the catalog owner's
    are the curated public ones (``demo-2008``)."""
    tag, created = PoolTag.objects.get_or_create(owner=owner, name=name)
    if created:
        audit(actor=owner, action="created", obj=tag, summary=f"tag {name}")
    return tag


def host_set_tags(*, host: Host, tags: list[str], actor=None) -> None:
    """Set a host's tags, in its owner's namespace: a user's host tagged ``demo-2008`` joins
    that user's own ``demo-2008``, never the curated one (staff put hosts in curated tags
    through the admin)."""
    before = sorted(host.tags.values_list("name", flat=True))
    host.tags.set([pool_tag_for(owner=host.owner, name=tag) for tag in tags])
    if sorted(set(tags)) != before:
        audit(
            actor=actor or host.owner,
            action="tags changed",
            obj=host,
            summary=f"tags: {', '.join(sorted(set(tags))) or 'none'}",
        )


def pool_tag_resolve(name: str, user=None) -> PoolTag | None:
    """A pool tag by name as ``user`` sees it: their own tag of that name first, then the
    curated one of the catalog; another user's tag is never picked."""
    tags = PoolTag.objects.select_related("owner").filter(name=name)
    if getattr(user, "is_authenticated", False):
        own = tags.filter(owner=user).first()
        if own is not None:
            return own
    return tags.filter(owner__username=CATALOG_OWNER).first()


def hosts_tagged(hosts, name: str, user=None):
    """``hosts`` narrowed to a pool tag as ``user`` sees the name (``pool_tag_resolve``): their
    own tag first, else the curated one; none when neither exists."""
    pool_tag = pool_tag_resolve(name, user)
    return hosts.filter(tags=pool_tag) if pool_tag is not None else hosts.none()


def tagged_host_ids(name: str, user, limit: int) -> list[int]:
    """Ids of the hosts with a report under a pool tag as ``user`` sees it (``hosts_tagged``),
    in id order, at most ``limit + 1`` so that the caller can tell the tag is over its limit."""
    hosts = hosts_tagged(Host.objects.exclude(current_report=None), name, user)
    return list(hosts.order_by("pk").values_list("pk", flat=True)[: limit + 1])


def pool_tags_visible(user=None):
    """The tags a user may pick: their own and the curated ones."""
    from django.db.models import Q

    visible = Q(owner__username=CATALOG_OWNER)
    if getattr(user, "is_authenticated", False):
        visible |= Q(owner=user)
    return PoolTag.objects.select_related("owner").filter(visible).order_by("name", "owner_id")


def _host_by_ref(value, user) -> Host | None:
    """A host by id, or by name within what the caller may name: their own host first, else
    the curated catalog's.  Another user's host is named by its id, so nobody's host under the
    same name ever changes (or makes ambiguous) what a name means for someone else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Host.objects.filter(pk=value).first()
    if not isinstance(value, str):
        return None
    hosts = Host.objects.filter(name=value)
    if getattr(user, "is_authenticated", False):
        own = hosts.filter(owner=user).first()
        if own is not None:
            return own
    return hosts.filter(owner__username=CATALOG_OWNER).first()


def report_for_ref(ref, *, uploaded_by=None, field: str = "", store_raw: bool = True):
    """Resolve ``{"host": id or name}``, ``{"report": id}``, ``{"cpu_model": id}`` or
    ``{"raw": text}`` to a stored report.  An inline dump is ingested (kept verbatim,
    deduplicated) unless ``store_raw`` is False, when its DecodedDump is returned instead; a bad
    dump raises DumpParseError before anything is stored."""
    if not isinstance(ref, dict) or len(ref) != 1:
        raise HostRefError(
            'give exactly one of {"host": id or name}, {"report": id}, {"cpu_model": id}, '
            '{"raw": text}',
            field,
        )
    ((kind, value),) = ref.items()
    if kind == "raw":
        if not isinstance(value, str):
            raise HostRefError("raw must be the text of a host report", field)
        if not store_raw:
            return decode_upload(value)
        report, _ = report_ingest(raw=value, uploaded_by=uploaded_by, source="inline")
        return report
    if kind not in ("host", "report", "cpu_model"):
        raise HostRefError(f"unknown reference {kind!r}: use host, report, cpu_model or raw", field)
    if kind != "host" and (not isinstance(value, int) or isinstance(value, bool)):
        raise HostRefError(f"{kind} must be an id", field)
    queryset = HostReport.objects.select_related("feature_set", "host", "cpu_model")
    if kind == "report":
        report = queryset.filter(pk=value).first()
    elif kind == "host":
        try:
            host = _host_by_ref(value, uploaded_by)
        except HostRefError as error:
            error.field = field
            raise
        if host is not None and host.current_report_id is None:
            raise HostRefError(f"host {value} has no report yet", field)
        report = queryset.filter(pk=host.current_report_id).first() if host else None
    else:
        cpu_model = CpuModel.objects.filter(pk=value).first()
        report = cpu_model_report(cpu_model) if cpu_model else None
    if report is None:
        raise HostRefError(not_found_message(kind, value), field, not_found=True)
    return report
