"""Hyper-V live migration: what the guest sees, processor compatibility mode, and every
non-feature rule.

* Hyper-V has no named guest CPU models: a VM sees the host's features, minus what processor
  compatibility mode hides.  A named model in the guest CPU stands for the feature set it names.
* Processor compatibility mode (``hyperv_compatibility``): ``2008r2`` (the complete published
  list), ``standard`` (Windows Server 2012-2022: the 2008 R2 list plus AES, a documented lower
  bound) and ``dynamic`` (Windows Server 2025 and Azure Stack HCI 22H2+, VM configuration version
  10 or later: the guest sees the features common to every node of the cluster; Microsoft Learn
  "Processor compatibility mode in Hyper-V").
* Hyper-V manages the guest's TSC itself (reference TSC page, TSC scaling where the hardware
  has it: Microsoft Hypervisor Top-Level Functional Specification, "Partition Reference TSC"):
  there is no TSC reason, and ``invtsc`` is not a feature the VM carries.
* Nested virtualisation (``Set-VMProcessor -ExposeVirtualizationExtensions $true``) is off unless
  asked (``+vmx``/``+svm``), and a VM with it cannot be live-migrated.
"""

from __future__ import annotations

from functools import cache

from .. import assists as hw_assists
from .. import guest_models
from ..baseline import HostView
from ..feature_classes import (
    GUEST_VISIBLE,
    HOST_ONLY,
    INVTSC,
    MITIGATIONS,
    NESTED,
    NOT_VIRTUALISED,
    VMX_SVM,
)
from ..table import TABLE
from .base import (
    BASELINE,
    HOST_MODEL,
    MODEL,
    PASSTHROUGH,
    GuestAttrs,
    GuestCpu,
    HostAttrs,
    Policy,
    Reason,
    ResolvedGuest,
    undocumented_address_bits,
    vendor_name,
)

# Processor compatibility modes, classic and dynamic.
COMPATIBILITY_MODES = ("2008r2", "standard", "dynamic")
CLASSIC_MODES = ("2008r2", "standard")
NESTED_DOC = (
    "Microsoft Learn, 'Run Hyper-V in a Virtual Machine with Nested Virtualization': a VM with "
    "virtualization extensions exposed cannot be live-migrated or saved/restored"
)


@cache
def hyperv_newer_mask() -> int:
    """Features newer than the documented "standard" compatibility list (docs/compatibility.md):
    those of EVC modes after the Sandy Bridge / Bulldozer generation (AVX, AES and XOP, the
    newest features the lists name), and those of CPUID leaves those CPUs did not have (7,
    0xD sub-leaves >= 1, 0x10-0x7FFFFFFF, 0x80000008 and above)."""
    era = 0
    for key in ("intel-sandybridge", "amd-bulldozer", "amd-greyhound"):
        era |= guest_models.find(key).feature_mask
    later = 0
    for mode in guest_models.models_of("vmware-evc"):
        later |= mode.feature_mask
    new_leaves = TABLE.mask_of(
        f
        for f in TABLE
        if f.msr is None
        and (
            f.leaf == 7
            or (f.leaf == 0xD and f.subleaf >= 1)
            or 0x10 <= f.leaf < 0x80000000
            or f.leaf >= 0x80000008
        )
    )
    # Not instruction sets: nested virtualisation (Hyper-V shows svm/vmx only with nested
    # virtualisation on) and microcode mitigation bits.
    not_isa = NESTED | MITIGATIONS | TABLE.by_name["arch_capabilities"].mask
    return (later | new_leaves) & TABLE.cpu_feature_mask & ~HOST_ONLY & ~era & ~not_isa


def hyperv_hidden(vendor: str, compatibility: str) -> int | None:
    """The documented hidden mask of a classic mode, or None for a vendor without a list."""
    try:
        return hw_assists.hyperv_hidden_mask(vendor, compatibility)
    except ValueError:
        return None


class HypervPolicy(Policy):
    key = "hyperv"
    label = "Hyper-V"
    emulated = 0

    def resolve(self, guest: GuestCpu, source: HostView, pool_result) -> ResolvedGuest:
        identity = source.identity
        bits = identity.phys_bits
        asked = bool(guest.added & VMX_SVM & ~guest.removed)
        if guest.mode in (PASSTHROUGH, HOST_MODEL):
            visible = source.feature_mask & GUEST_VISIBLE & ~NOT_VIRTUALISED & ~INVTSC
            mask = ((visible & ~VMX_SVM) | (guest.added & visible)) & ~guest.removed
            return ResolvedGuest(guest.mode, mask, bits, None, identity.vendor, nested=asked)
        if guest.mode == MODEL:
            return ResolvedGuest(
                MODEL,
                guest.feature_mask & ~INVTSC,
                bits,
                guest.spec,
                guest.model.vendor,
                nested=asked,
            )
        if pool_result is None:
            raise ValueError("a baseline guest needs the pool's baseline")
        fitted = pool_result.qemu_model
        return ResolvedGuest(
            BASELINE,
            fitted.feature_mask,
            bits,
            pool_result.qemu_spec,
            fitted.model.vendor,
            nested=False,
        )

    def apply_compatibility(
        self, resolved: ResolvedGuest, source: HostView, mode: str, pool_result
    ) -> ResolvedGuest:
        """Processor compatibility mode on top of what the guest would see.  ``dynamic``: the
        features common to every node (Microsoft Learn, "Dynamic processor compatibility mode":
        "the common denominator of the CPU features supported by the nodes in the cluster";
        ``assists.hyperv_dynamic_visible_mask``), taken as the pool baseline's features, which
        also leaves out what a name-based report cannot show."""
        if mode == "dynamic":
            common = pool_result.feature_mask if pool_result is not None else resolved.feature_mask
            mask = resolved.feature_mask & common
            return resolved._replace(
                feature_mask=mask, hidden=resolved.feature_mask & ~common, compatibility=mode
            )
        hidden = hyperv_hidden(source.identity.vendor, mode)
        if hidden is None:  # no documented list for this vendor: nothing is known to be hidden
            return resolved._replace(compatibility=mode)
        mask = resolved.feature_mask & ~hidden
        uncertain = mask & hyperv_newer_mask() if mode == "standard" else 0
        return resolved._replace(
            feature_mask=mask,
            hidden=resolved.feature_mask & hidden,
            uncertain=uncertain,
            compatibility=mode,
        )

    @property
    def rules(self) -> tuple:
        return (hyperv_vendor, hyperv_nested, hyperv_address_bits, hyperv_named_model)


def hyperv_vendor(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """Live migration needs the same CPU vendor, compatibility mode or not (Microsoft Learn,
    "Processor compatibility mode in Hyper-V": it works only between hosts of the same
    manufacturer)."""
    if source.vendor == destination.vendor:
        return []
    return [
        Reason(
            "vendor",
            "blocker",
            f"{vendor_name(source.vendor)} -> {vendor_name(destination.vendor)}: Hyper-V live "
            "migration requires processors from the same manufacturer, even in processor "
            "compatibility mode",
        )
    ]


def hyperv_nested(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """A VM with nested virtualisation exposed (ExposeVirtualizationExtensions) cannot be
    live-migrated (Microsoft Learn, "Run Hyper-V in a Virtual Machine with Nested
    Virtualization")."""
    if not guest.has_nested:
        return []
    return [
        Reason(
            "nested virt",
            "blocker",
            "the VM has nested virtualisation exposed (Set-VMProcessor "
            "-ExposeVirtualizationExtensions $true): Hyper-V cannot live-migrate it; turn it "
            f"off or move the VM while it is off ({NESTED_DOC})",
            ("vmx", "svm"),
        )
    ]


def hyperv_address_bits(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """Microsoft documents no rule for a VM's physical address width across live migration
    (see ``base.undocumented_address_bits``)."""
    return undocumented_address_bits(guest, destination, "Microsoft")


def hyperv_named_model(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """Hyper-V has no named guest CPU models (Microsoft Learn, Set-VMProcessor: its only CPU
    feature switches are compatibility mode and nested virtualisation): say what the name
    stands for."""
    if not guest.named:
        return []
    return [
        Reason(
            "features",
            "info",
            "Hyper-V has no named guest CPU models: the named model stands for what the guest "
            "is shown; processor compatibility mode (hyperv_compatibility '2008r2', 'standard' or "
            "'dynamic') hides features on top of it",
        )
    ]


POLICY = HypervPolicy()
