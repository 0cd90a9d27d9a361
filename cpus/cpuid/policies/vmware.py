"""VMware vSphere vMotion and EVC: what the guest sees, and every non-feature rule.

A VMware guest CPU is one of three things (vSphere "Enhanced vMotion Compatibility", "Per-VM
EVC"): **no EVC** (``host-passthrough``/``host-model``: the VM sees the host's features), a
**cluster EVC mode** (``baseline``: the highest mode every host of the source's vendor in the
pool supports) or a **per-VM EVC mode** (an EVC key such as ``intel-penryn``).  A QEMU or
libvirt model name stands for the feature set it names.

* ESXi virtualises the guest's TSC across vMotion (VMware "Timekeeping in VMware Virtual
  Machines"): there is no TSC reason, and ``invtsc`` is not a feature the VM carries.
* Nested hardware virtualisation (``vhv.enable``, "Expose hardware assisted virtualization to the
  guest OS") is off unless asked: ``+vmx``/``+svm`` in the guest CPU.
* No QEMU vocabulary: VMware has no ``phys-bits``, ``tsc-frequency`` or nested-state options.
"""

from __future__ import annotations

from .. import guest_models
from ..baseline import VENDOR_KEYS, HostView
from ..feature_classes import GUEST_VISIBLE, INVTSC, NOT_VIRTUALISED, VMX_SVM
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


def evc_display(key: str | None) -> str:
    """``intel-penryn (Intel "Penryn" Generation)``: the key with vCenter's display name."""
    if key is None:
        return ""
    model = guest_models.find(key)
    label = getattr(model, "description", None) or getattr(model, "label", None) if model else None
    return f"{key} ({label})" if label and label != key else key


class VmwarePolicy(Policy):
    key = "vmware"
    label = "VMware vSphere"
    emulated = 0

    def resolve(self, guest: GuestCpu, source: HostView, pool_result) -> ResolvedGuest:
        identity = source.identity
        bits = identity.phys_bits
        if guest.mode in (PASSTHROUGH, HOST_MODEL):
            visible = source.feature_mask & GUEST_VISIBLE & ~NOT_VIRTUALISED & ~INVTSC
            asked = guest.added & VMX_SVM & ~guest.removed
            mask = ((visible & ~VMX_SVM) | (guest.added & visible)) & ~guest.removed
            return ResolvedGuest(
                guest.mode,
                mask,
                bits,
                None,
                identity.vendor,
                nested=bool(asked),
            )
        if guest.mode == MODEL:
            evc = guest.model.source == "vmware-evc"
            mask = guest.feature_mask & ~INVTSC
            return ResolvedGuest(
                MODEL,
                mask,
                bits,
                guest.spec,
                guest.model.vendor,
                evc_mode=guest.model.name if evc else None,
                evc_vendor=guest.model.vendor if evc else None,
                nested=bool(guest.added & VMX_SVM & ~guest.removed),
            )
        if pool_result is None:
            raise ValueError("a baseline guest needs the pool's baseline")
        vendor_key = VENDOR_KEYS.get(identity.vendor, identity.vendor)
        key = pool_result.evc_modes.get(vendor_key)
        if key is None:
            why = f"no EVC mode is supported by every {vendor_name(identity.vendor)} host"
            lacking = pool_result.evc_unsupported.get(vendor_key)
            if lacking:
                why += f" ({lacking}: none supported)"
            return ResolvedGuest(BASELINE, 0, bits, None, identity.vendor, why, nested=False)
        mode = guest_models.find(key)
        return ResolvedGuest(
            BASELINE,
            mode.feature_mask,
            bits,
            key,
            mode.vendor,
            evc_mode=key,
            evc_vendor=mode.vendor,
            nested=False,
        )

    @property
    def rules(self) -> tuple:
        return (
            vmware_guest_cpu,
            vmware_no_evc_mode,
            vmware_vendor,
            vmware_address_bits,
            vmware_nested,
        )


def vmware_guest_cpu(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """Say which of VMware's three guest CPU kinds this is: no EVC (the VM sees the host's
    features), a cluster EVC mode, or a per-VM EVC mode (VMware vSphere documentation,
    "Enhanced vMotion Compatibility" and "Per-VM EVC", virtual hardware 14 and later)."""
    if guest.mode in (PASSTHROUGH, HOST_MODEL):
        what = (
            "no EVC: the VM sees the CPU features of the host it was powered on, so every "
            "destination must offer all of them"
        )
    elif guest.mode == BASELINE and guest.evc_mode:
        what = f"cluster EVC mode {evc_display(guest.evc_mode)}: every host is masked down to it"
    elif guest.evc_mode:
        what = (
            f"per-VM EVC mode {evc_display(guest.evc_mode)}: the VM carries the mode, and each "
            "host must be able to mask itself down to it"
        )
    else:
        what = "the named model stands for the EVC-masked feature set the VM sees"
    return [Reason("features", "info", f"VMware guest CPU: {what}")]


def vmware_no_evc_mode(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """A cluster EVC mode exists only if every host of the vendor supports it (VMware KB 1003212,
    "EVC and CPU Compatibility FAQ")."""
    if not guest.no_model:
        return []
    return [
        Reason(
            "features",
            "blocker",
            f"VMware: {guest.no_model} of the pool, so the cluster has no EVC mode for them",
        )
    ]


def vmware_vendor(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """vMotion never crosses CPU vendors, with or without EVC (VMware KB 1003212: EVC "does not
    allow for migration with vMotion between Intel and AMD processors")."""
    if source.vendor == destination.vendor:
        return []
    return [
        Reason(
            "vendor",
            "blocker",
            f"{vendor_name(source.vendor)} -> {vendor_name(destination.vendor)}: VMware vMotion "
            "never crosses CPU vendors, with or without an EVC mode",
        )
    ]


def vmware_address_bits(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """VMware documents no rule for a VM's physical address width across vMotion (see
    ``base.undocumented_address_bits``)."""
    return undocumented_address_bits(guest, destination, "VMware")


def vmware_nested(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """Nested hardware virtualisation (``vhv.enable``), only when the guest CPU asks for it: the
    guest hypervisor depends on the VT-x/AMD-V features the host passes through (VMware "Running
    Nested VMs"); within a vendor that is a warning (cross-vendor is blocked anyway)."""
    if not guest.has_nested or source.vendor != destination.vendor:
        return []
    return [
        Reason(
            "nested virt",
            "warning",
            "hardware-assisted virtualisation is exposed to the guest (vhv.enable): its own "
            "hypervisor relies on the host's VT-x/AMD-V features, which the destination must "
            "offer alike",
            ("vmx", "svm"),
        )
    ]


POLICY = VmwarePolicy()
