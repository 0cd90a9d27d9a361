"""Reads of the catalog: querysets with bounded query counts, feature grouping, comparisons."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace
from types import SimpleNamespace

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from cpus.cpuid import TABLE, Identity, baseline, feature_classes
from cpus.cpuid.baseline import HostView, with_host_facts
from cpus.cpuid.stack import HostStack
from cpus.cpuid.vocabulary import DEFAULT as DEFAULT_VOCABULARY
from cpus.cpuid.vocabulary import engine_name
from cpus.models import (
    CATALOG_OWNER,
    CpuModel,
    FeatureSet,
    GuestCpuModel,
    Host,
    HostReport,
    PoolTag,
)
from cpus.refs import HostRefError, not_found_message


def feature_names(feature_set: FeatureSet, vocabulary: str = DEFAULT_VOCABULARY) -> list[str]:
    """Names of a feature set in a vocabulary (Linux = canonical names, so every bit shows)."""
    vocabulary = engine_name(vocabulary)
    return sorted(
        name
        for f in TABLE.from_mask(feature_set.feature_mask)
        if (name := f.name_in(vocabulary)) is not None
    )


def features_by_group(
    feature_set: FeatureSet, vocabulary: str = DEFAULT_VOCABULARY
) -> OrderedDict[str, list[dict]]:
    """Features grouped by CPUID word or MSR, in table order, with the name in a vocabulary."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for feature in TABLE:
        present = feature_set.feature_mask >> feature.index & 1
        if not present:
            continue
        name = feature.name_in(engine_name(vocabulary))
        group = (
            f"MSR 0x{feature.msr:x}"
            if feature.msr is not None
            else (f"CPUID 0x{feature.leaf:x}.{feature.subleaf} {feature.register.upper()}")
        )
        groups.setdefault(group, []).append(
            {
                "name": name or feature.name,
                "missing_name": name is None,
                "bit": feature.bit,
                "kind": feature.kind,
            }
        )
    return groups


# Hosts seed_ledger makes from QEMU's published model definitions carry this tag.
STANDIN_TAG = "stand-in"


def cpu_model_list() -> QuerySet[CpuModel]:
    """With ``report_count``, ``real_reports`` (reports taken on a host: not inside a VM, not a
    QEMU model stand-in) and ``standin_reports``, so the catalog can mark what is not a dump of
    a real processor."""
    real = (
        HostReport.objects.filter(cpu_model=OuterRef("pk"), in_vm=False)
        .exclude(host__tags__name=STANDIN_TAG)
        .values("cpu_model")
        .annotate(n=Count("id"))
        .values("n")
    )
    standin = (
        HostReport.objects.filter(cpu_model=OuterRef("pk"), host__tags__name=STANDIN_TAG)
        .values("cpu_model")
        .annotate(n=Count("id", distinct=True))
        .values("n")
    )
    zero = Value(0, output_field=IntegerField())
    return (
        CpuModel.objects.select_related("feature_set")
        .annotate(
            report_count=Count("reports", distinct=True),
            real_reports=Coalesce(Subquery(real, output_field=IntegerField()), zero),
            standin_reports=Coalesce(Subquery(standin, output_field=IntegerField()), zero),
        )
        .order_by("vendor", "family", "model", "stepping", "brand")
    )


def report_list() -> QuerySet[HostReport]:
    return HostReport.objects.select_related("cpu_model", "host", "feature_set").defer("raw")


def host_list() -> QuerySet[Host]:
    return Host.objects.select_related(
        "owner", "current_report__cpu_model", "current_report__feature_set"
    ).prefetch_related(Prefetch("tags", queryset=PoolTag.objects.select_related("owner")))


def report_shared_with(report: HostReport) -> list[Host]:
    """Hosts of owners other than the report's uploader whose current report this is: reports
    are deduplicated by their text, so one row may stand for several owners' machines, and
    deleting it would leave theirs without one."""
    return list(Host.objects.filter(current_report=report).exclude(owner_id=report.uploaded_by_id))


def guest_model_list() -> QuerySet[GuestCpuModel]:
    return GuestCpuModel.objects.select_related("feature_set")


def guest_models_runnable_on(feature_set: FeatureSet, vendor: str) -> list[GuestCpuModel]:
    """Named guest CPUs whose every feature this CPU offers (QEMU and libvirt models are only
    listed for the CPU's vendor or vendor-neutral ones, as the hypervisors would)."""
    mask = feature_set.feature_mask
    runnable = []
    for guest in guest_model_list():
        if guest.vendor and guest.vendor != vendor:
            continue
        guest_mask = guest.feature_set.feature_mask
        if guest_mask & ~mask == 0:
            runnable.append(guest)
    return runnable


def by_generation(guests) -> list[GuestCpuModel]:
    """Guest models oldest generation first: within a source and vendor, fewer features first
    (each QEMU, libvirt and EVC generation adds features to the one before), then by name."""
    return sorted(
        guests, key=lambda g: (g.source, g.vendor, g.feature_set.feature_count, g.name.lower())
    )


def recommended_guest_models(guests) -> set[int]:
    """Per source, the most capable model that is migration-safe and not deprecated: the one to
    pick for a VM that only ever runs on this CPU (a pool should use its baseline).  On a tie,
    the later in ``by_generation`` order."""
    best: dict[str, GuestCpuModel] = {}
    for guest in by_generation(guests):
        if not guest.migration_safe or guest.deprecated:
            continue
        current = best.get(guest.source)
        if current is None or guest.feature_set.feature_count >= current.feature_set.feature_count:
            best[guest.source] = guest
    return {guest.pk for guest in best.values()}


def cpus_running(guest: GuestCpuModel) -> list[CpuModel]:
    """Catalog CPUs that offer every feature of a guest model (of its vendor, when it has one)."""
    mask = guest.feature_set.feature_mask
    cpus = CpuModel.objects.select_related("feature_set").order_by(
        "vendor", "family", "model", "stepping", "brand"
    )
    if guest.vendor:
        cpus = cpus.filter(vendor=guest.vendor)
    return [cpu for cpu in cpus if mask & ~cpu.feature_set.feature_mask == 0]


def evc_modes_of(feature_set: FeatureSet, vendor: str) -> dict:
    """The VMware EVC modes a CPU supports, in VMware's order (lowest first), and the highest:
    ``{"supported": [{"key", "vcenter_name"}...], "highest": {...} | None, "lower": [...]}``
    (``lower``: the supported modes other than the highest).

    "Highest" is the highest mode in its vendor's order (``baseline.evc_mode_for``: a maximal
    mode by feature subset, at AMD's no-3DNow! fork the one with more features), never the
    alphabetically last key.  Features the report cannot show count as present, as for a pool's
    EVC mode (EVC support follows the CPU, VMware KB 1003212)."""
    mask = (feature_set.feature_mask | feature_set.unknown) & TABLE.cpu_feature_mask

    def entry(mode) -> dict:
        return {"key": mode.name, "vcenter_name": mode.vcenter_name}

    highest = baseline.evc_mode_for(mask, vendor)
    supported = baseline.evc_modes_supported(mask, vendor)
    return {
        "supported": [entry(m) for m in supported],
        "highest": entry(highest) if highest else None,
        "lower": [entry(m) for m in supported if m is not highest],
        "hardware_virtualisation": bool(feature_set.feature_mask & feature_classes.VMX_SVM),
    }


def compare_feature_sets(
    a: FeatureSet, b: FeatureSet, vocabulary: str = DEFAULT_VOCABULARY
) -> dict[str, list[str]]:
    vocabulary = engine_name(vocabulary)

    def names(mask: int) -> list[str]:
        return sorted(n for f in TABLE.from_mask(mask) if (n := f.name_in(vocabulary)) is not None)

    mask_a, mask_b = a.feature_mask, b.feature_mask
    return {
        "only_a": names(mask_a & ~mask_b),
        "only_b": names(mask_b & ~mask_a),
        "shared": names(mask_a & mask_b),
    }


def report_identity(report: HostReport | SimpleNamespace):
    """The decoded identity of a stored report (or of its fields), without decoding its raw text
    again."""
    return Identity(
        vendor=report.vendor,
        family=report.family,
        model=report.model,
        stepping=report.stepping,
        signature=int(report.signature, 16) if report.signature else None,
        brand=report.brand,
        brand_raw=report.brand,
        phys_bits=report.phys_bits,
        virt_bits=report.virt_bits,
        in_vm=report.in_vm,
        hypervisor_vendor=report.hypervisor_vendor or None,
    )


def report_host_view(report: HostReport, label: str = ""):
    """What the compatibility engine needs of a stored report: identity, feature masks and its
    ``host_facts`` (migration assists...), so the verdict equals the inline dump's."""
    view = HostView(
        identity=report_identity(report),
        feature_mask=report.feature_set.feature_mask,
        unknown_mask=report.feature_set.unknown,
        absent_means_unknown=report.feature_set.absent_means_unknown,
        warnings=tuple(report.warnings),
        label=label
        or (report.host.name if report.host_id else report.brand)
        or f"report {report.pk}",
    )
    return with_stack(with_host_facts(view, report.host_facts), report.stack)


def with_stack(view, stack: dict | None):
    """``view`` with the report's stored stack (``HostReport.stack``), if it has one."""
    if not stack:
        return view
    return replace(view, stack=HostStack.from_dict(stack))


def cpu_model_report(cpu_model: CpuModel) -> HostReport | None:
    """The report a CPU model's features come from (its most exact one)."""
    return (
        HostReport.objects.filter(cpu_model=cpu_model, feature_set_id=cpu_model.feature_set_id)
        .select_related("feature_set", "host")
        .order_by("in_vm", "id")
        .first()
    )


# --- The compatibility check's hot path -------------------------------------------------------
#
# ``POST /api/compat/check`` and ``/api/pools/baseline`` mostly name hosts.  Resolving each
# through the ORM took three queries per host (6 ms on the CI machine, mostly the ORM building
# them); this resolves every host reference of a request in one indexed query over the host, its
# current report and that report's feature set (one per 500 names or ids), and builds the
# HostViews from the rows.  The answers are the ORM path's, except that a host sharing another's
# report is labelled with its own name (tests/cpus/test_host_refs.py compares the two).

_HOST_VIEW_COLUMNS = (
    ("host", "id"),
    ("host", "name"),
    ("host", "owner_id"),
    ("owner", "username"),
    ("report", "id"),
    ("report", "vendor"),
    ("report", "family"),
    ("report", "model"),
    ("report", "stepping"),
    ("report", "signature"),
    ("report", "brand"),
    ("report", "phys_bits"),
    ("report", "virt_bits"),
    ("report", "in_vm"),
    ("report", "hypervisor_vendor"),
    ("report", "warnings"),
    ("report", "host_facts"),
    ("report", "stack"),
    ("feature_set", "mask"),
    ("feature_set", "unknown_mask"),
    ("feature_set", "absent_means_unknown"),
)
_CHUNK = 500  # parameters per query: well under SQLite's limit


def _host_view_sql(by: str, count: int) -> str:
    quote = connection.ops.quote_name
    tables = {
        "owner": quote(get_user_model()._meta.db_table),
        "host": quote(Host._meta.db_table),
        "report": quote(HostReport._meta.db_table),
        "feature_set": quote(FeatureSet._meta.db_table),
    }
    columns = ", ".join(f"{alias}.{quote(column)}" for alias, column in _HOST_VIEW_COLUMNS)
    placeholders = ", ".join(["%s"] * count)
    return (
        f"SELECT {columns} FROM {tables['host']} host"
        f" LEFT JOIN {tables['owner']} owner ON owner.id = host.owner_id"
        f" LEFT JOIN {tables['report']} report ON report.id = host.current_report_id"
        f" LEFT JOIN {tables['feature_set']} feature_set"
        f" ON feature_set.id = report.feature_set_id"
        f" WHERE host.{quote(by)} IN ({placeholders})"
    )


def _host_rows(by: str, values: list) -> list[tuple]:
    rows = []
    unique = list(dict.fromkeys(values))
    with connection.cursor() as cursor:
        for start in range(0, len(unique), _CHUNK):
            chunk = unique[start : start + _CHUNK]
            cursor.execute(_host_view_sql(by, len(chunk)), chunk)
            rows.extend(cursor.fetchall())
    return rows


def _row_host_view(row: tuple):
    """A HostView from one row of ``_host_view_sql`` (columns in ``_HOST_VIEW_COLUMNS`` order)."""
    tables: dict[str, dict] = {"host": {}, "owner": {}, "report": {}, "feature_set": {}}
    for (alias, column), value in zip(_HOST_VIEW_COLUMNS, row, strict=True):
        tables[alias][column] = value
    report = SimpleNamespace(**tables["report"])
    report.in_vm = bool(report.in_vm)  # SQLite hands booleans back as 0/1
    if isinstance(report.warnings, str):  # and JSON as text
        report.warnings = json.loads(report.warnings)
    if isinstance(report.host_facts, str):
        report.host_facts = json.loads(report.host_facts)
    if isinstance(report.stack, str):
        report.stack = json.loads(report.stack)
    feature_set = tables["feature_set"]
    view = HostView(
        identity=report_identity(report),
        feature_mask=int(feature_set["mask"], 16),
        unknown_mask=int(feature_set["unknown_mask"], 16),
        absent_means_unknown=bool(feature_set["absent_means_unknown"]),
        warnings=tuple(report.warnings),
        label=tables["host"]["name"],
    )
    return with_stack(with_host_facts(view, report.host_facts), report.stack)


def host_views_by_ref(values: list, user=None) -> dict:
    """``{"host": value}`` references (ids or names) -> {value: HostView | HostRefError}; values
    of other types are left out.

    A name means the caller's own host of that name, else the curated catalog's (another
    user's host is named by its id, so it never changes what a name means for someone else); a
    host without a report and an unknown id or name map to a HostRefError (without a field:
    the caller knows which reference it was)."""
    ids = [v for v in values if type(v) is int]
    names = [v for v in values if type(v) is str]
    by_id = {row[0]: row for row in _host_rows("id", ids)} if ids else {}
    by_name: dict[str, list[tuple]] = {}
    for row in _host_rows("name", names) if names else []:
        by_name.setdefault(row[1], []).append(row)
    user_id = user.pk if getattr(user, "is_authenticated", False) else None

    answers: dict = {}
    for value in dict.fromkeys(v for v in values if type(v) in (int, str)):
        if isinstance(value, int):
            row = by_id.get(value)
        else:
            rows = by_name.get(value, [])
            own = [r for r in rows if user_id is not None and r[2] == user_id]
            curated = [r for r in rows if r[3] == CATALOG_OWNER]
            row = (own or curated or [None])[0]  # (owner, name) is unique: one of each at most
        if row is None:
            answers[value] = HostRefError(not_found_message("host", value), not_found=True)
        elif row[4] is None:
            answers[value] = HostRefError(f"host {value} has no report yet")
        else:
            answers[value] = _row_host_view(row)
    return answers


def report_views_by_ids(report_ids: list[int]) -> dict:
    """``{"report": id}`` references -> {id: HostView}, in one query (unknown ids are left out)."""
    reports = HostReport.objects.select_related("feature_set", "host").filter(
        pk__in=set(report_ids)
    )
    return {report.pk: report_host_view(report) for report in reports}


def cpu_model_views_by_ids(cpu_model_ids: list[int]) -> dict:
    """``{"cpu_model": id}`` references -> {id: HostView} of each model's most exact report
    (as ``cpu_model_report``), in one query (unknown ids are left out)."""
    reports = (
        HostReport.objects.select_related("feature_set", "host")
        .filter(cpu_model_id__in=set(cpu_model_ids), feature_set_id=F("cpu_model__feature_set_id"))
        .order_by("cpu_model_id", "in_vm", "id")
    )
    views: dict = {}
    for report in reports:
        if report.cpu_model_id not in views:
            views[report.cpu_model_id] = report_host_view(report)
    return views
