"""Reads of the catalog: querysets with bounded query counts, feature grouping, comparisons."""

from __future__ import annotations

from collections import OrderedDict

from django.db.models import Count, QuerySet

from cpus.cpuid import TABLE
from cpus.models import CpuModel, FeatureSet, GuestCpuModel, Host, HostReport


def feature_names(feature_set: FeatureSet, vocabulary: str = "linux") -> list[str]:
    """Names of a feature set in a vocabulary (Linux = canonical names, so every bit shows)."""
    vocabulary = "canonical" if vocabulary == "linux" else vocabulary
    return sorted(
        name
        for f in TABLE.from_mask(feature_set.feature_mask)
        if (name := f.name_in(vocabulary)) is not None
    )


def features_by_group(
    feature_set: FeatureSet, vocabulary: str = "linux"
) -> OrderedDict[str, list[dict]]:
    """Features grouped by CPUID word or MSR, in table order, with the name in a vocabulary."""
    groups: OrderedDict[str, list[dict]] = OrderedDict()
    for feature in TABLE:
        present = feature_set.feature_mask >> feature.index & 1
        if not present:
            continue
        name = feature.name if vocabulary == "linux" else feature.name_in(vocabulary)
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


def cpu_model_list() -> QuerySet[CpuModel]:
    return (
        CpuModel.objects.select_related("feature_set")
        .annotate(report_count=Count("reports", distinct=True))
        .order_by("vendor", "family", "model", "stepping", "brand")
    )


def report_list() -> QuerySet[HostReport]:
    return HostReport.objects.select_related("cpu_model", "host", "feature_set").defer("raw")


def host_list() -> QuerySet[Host]:
    return Host.objects.select_related(
        "owner", "current_report__cpu_model", "current_report__feature_set"
    ).prefetch_related("tags")


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


def compare_feature_sets(
    a: FeatureSet, b: FeatureSet, vocabulary: str = "linux"
) -> dict[str, list[str]]:
    vocabulary = "canonical" if vocabulary == "linux" else vocabulary

    def names(mask: int) -> list[str]:
        return sorted(n for f in TABLE.from_mask(mask) if (n := f.name_in(vocabulary)) is not None)

    mask_a, mask_b = a.feature_mask, b.feature_mask
    return {
        "only_a": names(mask_a & ~mask_b),
        "only_b": names(mask_b & ~mask_a),
        "shared": names(mask_a & mask_b),
    }


def report_identity(report: HostReport):
    """The decoded identity of a stored report, without decoding its raw text again."""
    from cpus.cpuid import Identity

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
    """What the compatibility engine needs of a stored report (identity and feature masks)."""
    from cpus.cpuid.baseline import HostView

    return HostView(
        identity=report_identity(report),
        feature_mask=report.feature_set.feature_mask,
        unknown_mask=report.feature_set.unknown,
        absent_means_unknown=report.feature_set.absent_means_unknown,
        warnings=tuple(report.warnings),
        label=label
        or (report.host.name if report.host_id else report.brand)
        or f"report {report.pk}",
    )


def cpu_model_report(cpu_model: CpuModel) -> HostReport | None:
    """The report a CPU model's features come from (its most exact one)."""
    return (
        HostReport.objects.filter(cpu_model=cpu_model, feature_set_id=cpu_model.feature_set_id)
        .select_related("feature_set", "host")
        .order_by("in_vm", "id")
        .first()
    )
