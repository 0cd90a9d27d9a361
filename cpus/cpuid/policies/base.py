"""What every hypervisor policy shares: reasons, the per-host and per-guest facts the rules read,
and the ``Policy`` interface a hypervisor module implements.

A policy decides two things (docs/compatibility.md, section 3):

* ``resolve``: what a guest CPU configuration shows the guest on a given source host (features,
  address width, vendor, TSC and nested-virtualisation exposure), in that hypervisor's terms;
* ``reasons``: every reason that does not come from the feature masks, as small rule functions
  over ``GuestAttrs`` and two ``HostAttrs``.  ``matrix`` evaluates the same functions once per
  distinct (row, column) attribute key, so the matrix and ``compat.check`` always agree.

Pure core: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from .. import facts, identity, releases
from ..baseline import (
    HostView,
    assist_masks,
    host_assists,
    names,
)
from ..facts import hex_int
from ..feature_classes import INVTSC, VMX_SVM, VOLATILE
from ..guest_models import GuestModel
from ..table import TABLE

PASSTHROUGH = "host-passthrough"
HOST_MODEL = "host-model"
MODEL = "model"
BASELINE = "baseline"
NAMED = (MODEL, BASELINE)
TSC_SCALE = TABLE.by_name["tsc_scale"].mask
# IA32_VMX_PROCBASED_CTLS2 (MSR 0x48B, read by baseline.host_view): the allowed-1 settings of
# the secondary processor-based VM-execution controls are its high 32 bits; control bit 25 is
# "Use TSC scaling" (Intel SDM vol. 3D, appendix A.3.3 and table 25-7).
VMX_TSC_SCALING_ALLOWED = 1 << (32 + 25)


def vendor_name(vendor: str | None) -> str:
    """The maker's name for a CPUID vendor string (``identity.vendor_name``, from
    ``data/vendors.json``); a guest whose vendor is not pinned is "vendor-neutral"."""
    return identity.vendor_name(vendor) if vendor else "vendor-neutral"


class Reason(NamedTuple):
    """One finding: which axis, how bad (info, warning, blocker), why, and which features."""

    axis: str
    severity: str
    message: str
    features: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "axis": self.axis,
            "severity": self.severity,
            "message": self.message,
            "features": list(self.features),
        }


# Intel family-6 models from Skylake on whose VMX offers "Use TSC scaling" (Linux commit "KVM: VMX:
# Enable and initialize VMX TSC scaling", 2015, names Skylake as the first): the list and its
# source are data/tsc-scaling.json.  Used only when a dump carries no VMX MSRs, and then said to
# be inferred.
_INTEL_TSC_SCALING_MODELS = frozenset(
    hex_int(row["model"]) for row in facts.load("tsc-scaling.json")["intel_family_6"]
)


def tsc_scaling(host: HostView) -> str | None:
    """How the host can scale a guest's TSC to another frequency, if it can:

    ``"cpuid"`` (AMD ``tsc_scale``, CPUID 0x8000000A EDX bit 4), ``"msr"`` (the dump's
    IA32_VMX_PROCBASED_CTLS2 allows "Use TSC scaling"), ``"inferred"`` (an Intel CPU of the
    Skylake generation or later without VMX MSRs in its dump: inferred from the CPU generation),
    else None.  Linux: arch/x86/kvm/svm/svm.c svm_hardware_setup (tsc_scaling from
    X86_FEATURE_TSCRATEMSR), arch/x86/kvm/vmx/vmx.c hardware_setup (cpu_has_vmx_tsc_scaling).
    """
    if host.feature_mask & TSC_SCALE:
        return "cpuid"
    identity = host.identity
    if identity.vendor != "GenuineIntel":
        return None
    if host.vmx_procbased_ctls2 is not None:
        return "msr" if host.vmx_procbased_ctls2 & VMX_TSC_SCALING_ALLOWED else None
    if identity.family == 6 and identity.model in _INTEL_TSC_SCALING_MODELS:
        return "inferred"
    return None


class HostAttrs(NamedTuple):
    """The per-host facts that decide every axis except the feature masks.

    A named tuple rather than a dataclass: the matrix builds and hashes one per host class.
    ``cpu_id`` is (vendor, family, model, stepping, brand).
    """

    vendor: str
    phys_bits: int | None
    in_vm: bool
    absent_means_unknown: bool
    has_invtsc: bool
    tsc_scaling: str | None
    cpu_id: tuple | None
    # The stack (``stack.HostStack``): QEMU and libvirt versions as (x, y, z), and the VMX
    # capabilities (``vmx-*`` names) KVM offers a nested guest there; None: not reported.
    qemu_version: tuple | None = None
    libvirt_version: tuple | None = None
    vmx_features: frozenset | None = None

    @classmethod
    def of(cls, host: HostView) -> HostAttrs:
        stack = host.stack
        return _host_attrs(
            host.identity,
            host.absent_means_unknown,
            bool(host.feature_mask & INVTSC),
            tsc_scaling(host),
            stack.qemu if stack else None,
            stack.libvirt if stack else None,
            stack.vmx_features if stack else None,
        )


@lru_cache(maxsize=8192)
def _host_attrs(
    identity,
    absent_means_unknown: bool,
    has_invtsc: bool,
    scaling,
    qemu=None,
    libvirt=None,
    vmx_features=None,
) -> HostAttrs:
    """HostAttrs are few (hosts share identities): one per distinct combination."""
    return HostAttrs(
        identity.vendor,
        identity.phys_bits,
        identity.in_vm,
        absent_means_unknown,
        has_invtsc,
        scaling,
        (identity.vendor, identity.family, identity.model, identity.stepping, identity.brand),
        qemu,
        libvirt,
        vmx_features,
    )


def assist_key(host: HostView) -> tuple:
    """(host assists unknown, features the available assists can hide, features assists of
    unknown confidence could hide): with the feature masks, decides VMware EVC admission."""
    report = host_assists(host)
    return (report.host_unknown, *assist_masks(report))


class GuestAttrs(NamedTuple):
    """The facts of a resolved guest CPU that decide the non-feature axes.

    ``phys_bits_from_host``: the width was taken from the source host (passthrough's
    host-phys-bits), so it cannot shrink at the destination.  ``vendor_pin``: the vendor string
    the guest keeps on every host (QEMU ``vendor=``), None when it takes each host's.
    ``tsc_khz``: the guest's ``tsc-frequency`` in kHz, when set.  ``volatile``: names of guest
    features that can disappear from a host with a microcode or kernel update (TSX, MPX).
    """

    mode: str
    phys_bits: int | None
    has_invtsc: bool
    has_nested: bool
    vendor_pin: str | None
    no_model: str | None = None
    phys_bits_from_host: bool = False
    tsc_khz: int | None = None
    volatile: tuple[str, ...] = ()
    evc_mode: str | None = None
    # The model name as the guest configuration gives it (``Cascadelake-Server-v3``) and its
    # catalog (``qemu``, ``libvirt``): decides whether the destination's QEMU/libvirt has it.
    model_name: str | None = None
    model_source: str | None = None
    # The vmx-* capabilities a named QEMU model gives a nested guest (None: all the host has).
    model_vmx: frozenset | None = None

    @property
    def named(self) -> bool:
        return self.mode in NAMED


@dataclass(frozen=True, slots=True)
class GuestCpu:
    """A parsed guest CPU configuration (before it meets a source host).

    ``added``/``removed``: ``+f``/``-f`` edits.  Options: ``phys_bits`` (``phys-bits=N``),
    ``host_phys_bits`` (``host-phys-bits=on|off``), ``migratable`` (``migratable=on|off``, for
    passthrough), ``tsc_khz`` (``tsc-frequency=N`` in Hz, stored in kHz), ``vendor``
    (``vendor=GenuineIntel|AuthenticAMD``, libvirt ``vendor_id``).
    """

    spec: str
    mode: str
    model: GuestModel | None = None
    added: int = 0
    removed: int = 0
    phys_bits: int | None = None
    host_phys_bits: bool | None = None
    migratable: bool | None = None
    tsc_khz: int | None = None
    vendor: str | None = None

    @property
    def is_named(self) -> bool:
        return self.mode in NAMED

    @property
    def feature_mask(self) -> int | None:
        """The model's features with the edits; None when they come from the host."""
        if self.model is None:
            return None
        return (self.model.feature_mask | self.added) & ~self.removed


class ResolvedGuest(NamedTuple):
    """A guest CPU on a given source: its features, address width and display string.

    ``evc_mode``/``evc_vendor``: the VMware EVC mode the guest runs (a named EVC key, or the
    pool's mode for ``baseline``), which every host must be masked down to.  ``hidden``: the
    source's features Hyper-V processor compatibility mode hides; ``uncertain``: guest features
    that mode may hide too ("standard" is a documented lower bound).  ``nested``: vmx/svm is
    exposed to the guest (not merely required of the host, as libvirt models require it).
    """

    mode: str
    feature_mask: int
    phys_bits: int | None
    model_spec: str | None
    model_vendor: str | None
    no_model: str | None = None
    evc_mode: str | None = None
    evc_vendor: str | None = None
    hidden: int = 0
    uncertain: int = 0
    compatibility: str | None = None
    vendor_pin: str | None = None
    phys_bits_from_host: bool = False
    tsc_khz: int | None = None
    nested: bool | None = None
    model_name: str | None = None
    model_source: str | None = None

    @property
    def attrs(self) -> GuestAttrs:
        nested = self.nested if self.nested is not None else bool(self.feature_mask & VMX_SVM)
        volatile = tuple(names(self.feature_mask & VOLATILE)) if self.mode in NAMED else ()
        return GuestAttrs(
            self.mode,
            self.phys_bits,
            bool(self.feature_mask & INVTSC),
            nested,
            self.vendor_pin,
            self.no_model,
            self.phys_bits_from_host,
            self.tsc_khz,
            volatile,
            self.evc_mode,
            self.model_name,
            self.model_source,
            releases.qemu_model_vmx(self.model_name)
            if self.model_name and self.model_source == "qemu"
            else None,
        )


class Policy:
    """One hypervisor's rules.  Subclasses set ``key``/``label`` and implement the hooks."""

    key = ""
    label = ""
    # Features the hypervisor provides to a named guest model whatever the host has.
    emulated = 0

    rules: tuple = ()

    def resolve(self, guest: GuestCpu, source: HostView, pool_result) -> ResolvedGuest:
        """What ``guest`` shows the guest when it is started on ``source``."""
        raise NotImplementedError

    def reasons(self, guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
        """Every non-feature reason of this hypervisor for one directed pair: its own rules,
        then the rules every hypervisor shares."""
        found = []
        for rule in (*self.rules, *COMMON_RULES):
            found += rule(guest, source, destination)
        return found

    def __repr__(self) -> str:
        return f"<policy {self.key}>"


# --- Rules every hypervisor applies ------------------------------------------------------------


def undocumented_address_bits(
    guest: GuestAttrs, destination: HostAttrs, vendor_docs: str
) -> list[Reason]:
    """The address-width rule of a hypervisor whose vendor documents none (VMware, Microsoft):
    the VM is assumed to see the source's width, and a narrower destination is a warning, not a
    guessed blocker (docs/compatibility.md says the sources are silent)."""
    if guest.phys_bits is None or destination.phys_bits is None:
        return [
            Reason(
                "address bits",
                "warning",
                "the physical address width of one host is not in its report, so it cannot be "
                "compared",
            )
        ]
    if guest.phys_bits <= destination.phys_bits:
        return []
    return [
        Reason(
            "address bits",
            "warning",
            f"the source has {guest.phys_bits} physical address bits and the destination only "
            f"{destination.phys_bits}: {vendor_docs} documents no rule for this, so a VM with "
            f"memory or device mappings above 2^{destination.phys_bits} may not fit there",
        )
    ]


def report_in_vm(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """A report taken inside a VM (CPUID.1:ECX bit 31, the hypervisor bit) shows what that VM's
    hypervisor chose to show, not the host CPU (Intel SDM vol. 2A CPUID; Linux
    arch/x86/kernel/cpu/hypervisor.c detect_hypervisor_vendor)."""
    return [
        Reason(
            "report",
            "warning",
            f"the {side} report was taken inside a virtual machine: it shows a masked guest "
            "view, not the host's CPU",
        )
        for side, attrs in (("source", source), ("destination", destination))
        if attrs.in_vm
    ]


def report_names_only(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """A name-based report (/proc/cpuinfo, lscpu, libvirt XML, QMP) lists the features its tool
    knew by name: one it does not name is unknown, not absent (docs/formats.md)."""
    return [
        Reason(
            "report",
            "warning",
            f"the {side} report lists feature names, not CPUID bits: a feature it does not name "
            "is unknown, not absent, so this verdict may miss a difference",
        )
        for side, attrs in (("source", source), ("destination", destination))
        if attrs.absent_means_unknown
    ]


def volatile_features(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """A named guest CPU that relies on TSX or MPX can lose its hosts: Intel's TAA microcode
    (INTEL-SA-00270) lets the OS disable TSX and Linux does so by default since 5.14 on affected
    CPUs (arch/x86/kernel/cpu/tsx.c tsx_init, X86_TSX_DEFAULT_OFF); Linux 5.6 removed MPX support
    and CPUs from Ice Lake on do not implement it.  A host that loses them can no longer run or
    receive the guest (QEMU refuses a model feature the host lacks: target/i386/cpu.c
    x86_cpu_filter_features)."""
    if not guest.named or not guest.volatile:
        return []
    listed = ", ".join(guest.volatile)
    return [
        Reason(
            "features",
            "warning",
            f"the guest CPU relies on {listed}, which hosts lose with a microcode or kernel "
            "update (TSX: Intel's TAA microcode and Linux's tsx=off default since 5.14; MPX: "
            "removed from Linux 5.6 and from CPUs since Ice Lake); a host that loses them can "
            "no longer receive this guest, so prefer a model without them (the -noTSX variants)",
            guest.volatile,
        )
    ]


COMMON_RULES = (report_in_vm, report_names_only, volatile_features)
