"""KVM with QEMU and libvirt: what the guest sees, and every non-feature rule, with its source.

Guest CPU (``KvmPolicy.resolve``):

* ``host-passthrough`` (QEMU ``-cpu host``, libvirt ``mode='host-passthrough'``): the source's
  features KVM can virtualise (``feature_classes.NOT_VIRTUALISED`` never reach a guest).  QEMU's
  ``migratable`` property defaults to on for ``-cpu host`` and drops the unmigratable features
  (``invtsc``; target/i386/cpu.c ``x86_cpu_get_supported_feature_word(..., migratable_only)``
  and ``feature_word_info[].unmigratable_flags``; QEMU commit 120eee7d "target-i386: Set
  migratable=yes by default on host CPU model"); libvirt's host-passthrough keeps
  ``migratable='on'`` by default (libvirt formatdomain "CPU model and topology").  ``+invtsc`` or
  ``migratable=off`` brings ``invtsc`` back.  The width is the source's (``-cpu host`` sets
  ``host-phys-bits=on``: target/i386/host-cpu.c ``host_cpu_max_instance_init``).
* ``host-model``: the source's migratable features; QEMU's default 40-bit width.
* a QEMU model: its definition plus QEMU's KVM defaults (``KVM_DEFAULTS``; target/i386/kvm/
  kvm-cpu.c ``kvm_default_props`` applied by ``kvm_cpu_instance_init`` to every built-in model),
  then the user's ``+``/``-`` edits, which win.  The catalog's QEMU expansions were captured
  under TCG, whose defaults turn ``vme`` off (target/i386/tcg/tcg-cpu.c ``tcg_default_props``);
  every QEMU 7.2 model except ``qemu32``/``qemu64`` defines ``vme``, so it is restored.
* a ``libvirt:`` model keeps libvirt's cpu_map feature list as what the hosts must offer:
  libvirt checks the domain's model against the host CPU with its own cpu_map (``check='partial'``
  default, src/qemu/qemu_process.c ``qemuProcessStartValidateGuestCPU``; the error "Host CPU does
  not provide required features: svm").  QEMU then still applies its KVM defaults to the model it
  starts, so ``svm`` in a libvirt model is required of the host but not exposed to the guest;
  nested virtualisation counts only when asked (``+svm``/``+vmx``).
* The vendor string: under KVM a built-in model shows the *host's* vendor unless ``vendor=``
  pins it (target/i386/host-cpu.c ``host_cpu_instance_init``: "vendor property is set here but
  then overloaded with the host cpu vendor for KVM"); libvirt ``<model vendor_id='...'>``.
"""

from __future__ import annotations

from functools import lru_cache

from .. import releases
from ..assists import KVM_CPUID_POLICY
from ..baseline import QEMU_DEFAULT_PHYS_BITS, HostView
from ..feature_classes import (
    GUEST_VISIBLE,
    KVM_EMULATED,
    NON_MIGRATABLE,
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
    vendor_name,
)

# QEMU 7.2 kvm_default_props (target/i386/kvm/kvm-cpu.c), the CPUID-feature entries, read from
# the per-release table (data/qemu-x86-models-by-release.json): the kvm-* paravirtual properties
# are not CPUID features of the table.  x2apic is set off without an in-kernel irqchip, which
# every libvirt/QEMU KVM setup has.
KVM_DEFAULTS = {
    name: value == "on"
    for name, value in releases.kvm_default_props((7, 2, 0)).items()
    if not name.startswith("kvm") and name in TABLE.by_name
}
KVM_DEFAULT_ON = TABLE.mask_of(TABLE.by_name[n] for n, on in KVM_DEFAULTS.items() if on)
KVM_DEFAULT_OFF = TABLE.mask_of(TABLE.by_name[n] for n, on in KVM_DEFAULTS.items() if not on)
VME = TABLE.by_name["vme"].mask
_NO_VME = {"qemu32", "qemu64"}
INVTSC_BLOCKER = "State blocked by non-migratable CPU device (invtsc flag)"
PASSTHROUGH_DOC = (
    "QEMU docs/system/i386/cpu.rst (host passthrough is not migration-safe unless hardware, "
    "microcode, QEMU and configuration match) and libvirt formatdomain (host-passthrough)"
)


def kvm_defaults(qemu_version: tuple | None) -> tuple[int, int]:
    """(features on, features off) that QEMU's ``kvm_default_props`` applies to every built-in
    model under KVM, for the host's QEMU release when its version is known (the per-release
    table, ``releases.kvm_default_props``: ``monitor`` off from 2.1, ``acpi``/``svm`` off from
    2.2), else QEMU 7.2's (``KVM_DEFAULTS``).  Only CPUID features of the table count; the kvm-*
    paravirtual properties are not in it."""
    props = releases.kvm_default_props(qemu_version)
    if props is None:
        return KVM_DEFAULT_ON, KVM_DEFAULT_OFF
    return _defaults_mask(tuple(sorted(props.items())))


@lru_cache(maxsize=64)
def _defaults_mask(props: tuple) -> tuple[int, int]:
    on = off = 0
    for name, value in props:
        feature = TABLE.by_name.get(name.replace("_", "-"))
        if feature is None or name.startswith("kvm"):
            continue
        if value == "on":
            on |= feature.mask
        elif value == "off":
            off |= feature.mask
    return on, off


def kvm_model_mask(guest: GuestCpu, qemu_version: tuple | None = None) -> int:
    """A named model's features as a KVM guest gets them (before the user's edits), on a source
    whose QEMU is ``qemu_version`` (None: QEMU 7.2's defaults)."""
    model = guest.model
    mask = model.feature_mask
    if model.source == "qemu":
        default_on, default_off = kvm_defaults(qemu_version)
        mask = (mask & ~default_off) | default_on
        base = model.name.rsplit("-v", 1)[0]
        if base not in _NO_VME:
            mask |= VME
    elif model.source == "proxmox":
        # A Proxmox type is a QEMU built-in model plus flags (qemu-server CPUConfig.pm
        # get_cpu_options: "-cpu qemu64,+aes,..." for x86-64-v2-AES), so QEMU's KVM defaults
        # apply to it as well: qemu64's svm is off under KVM, and the type runs on Intel hosts.
        mask = (mask & ~KVM_DEFAULT_OFF) | KVM_DEFAULT_ON
    return mask


def typed_name(spec: str | None) -> str | None:
    """The model name as the configuration gives it: ``qemu:Penryn,+aes`` -> ``Penryn``."""
    if not spec:
        return None
    return spec.split(",", 1)[0].strip().rpartition(":")[2] or None


def _spec_vendor(spec: str | None) -> str | None:
    for token in (spec or "").split(","):
        key, _, value = token.partition("=")
        if key.strip() == "vendor" and value:
            return value.strip()
    return None


class KvmPolicy(Policy):
    key = "kvm"
    label = "KVM / QEMU / libvirt"
    emulated = KVM_EMULATED

    def resolve(self, guest: GuestCpu, source: HostView, pool_result) -> ResolvedGuest:
        identity = source.identity
        visible = source.feature_mask & GUEST_VISIBLE & ~NOT_VIRTUALISED
        if guest.mode == PASSTHROUGH:
            mask = visible if guest.migratable is False else visible & ~NON_MIGRATABLE
            mask = (mask | (guest.added & visible)) & ~guest.removed
            from_host = guest.host_phys_bits is not False and guest.phys_bits is None
            bits = identity.phys_bits if from_host else guest.phys_bits or QEMU_DEFAULT_PHYS_BITS
            return ResolvedGuest(
                PASSTHROUGH,
                mask,
                bits,
                None,
                identity.vendor,
                phys_bits_from_host=from_host,
                tsc_khz=guest.tsc_khz,
            )
        if guest.mode == HOST_MODEL:
            mask = ((visible & ~NON_MIGRATABLE) | (guest.added & visible)) & ~guest.removed
            from_host = bool(guest.host_phys_bits)
            bits = identity.phys_bits if from_host else guest.phys_bits or QEMU_DEFAULT_PHYS_BITS
            return ResolvedGuest(
                HOST_MODEL,
                mask,
                bits,
                None,
                identity.vendor,
                phys_bits_from_host=from_host,
                tsc_khz=guest.tsc_khz,
            )
        if guest.mode == MODEL:
            qemu = source.stack.qemu if source.stack else None
            mask = (kvm_model_mask(guest, qemu) | guest.added) & ~guest.removed
            if guest.model.source == "libvirt":
                nested = bool(guest.added & VMX_SVM & ~guest.removed)
            else:
                nested = bool(mask & VMX_SVM)
            from_host = bool(guest.host_phys_bits)
            bits = identity.phys_bits if from_host else guest.phys_bits or QEMU_DEFAULT_PHYS_BITS
            return ResolvedGuest(
                MODEL,
                mask,
                bits,
                guest.spec,
                guest.model.vendor,
                vendor_pin=guest.vendor,
                phys_bits_from_host=from_host,
                tsc_khz=guest.tsc_khz,
                nested=nested,
                model_name=typed_name(guest.spec),
                model_source=guest.model.source,
            )
        if pool_result is None:
            raise ValueError("a baseline guest needs the pool's baseline")
        fitted = pool_result.qemu_model
        return ResolvedGuest(
            BASELINE,
            fitted.feature_mask,
            pool_result.guest_phys_bits,
            pool_result.qemu_spec,
            fitted.model.vendor,
            vendor_pin=_spec_vendor(pool_result.qemu_spec),
            model_name=typed_name(pool_result.qemu_spec),
            model_source=fitted.model.source,
        )

    @property
    def rules(self) -> tuple:
        return (
            kvm_vendor,
            kvm_address_bits,
            kvm_invtsc,
            kvm_nested,
            kvm_vmx_capabilities,
            kvm_model_release,
            kvm_passthrough_identity,
            kvm_cpuid_virtualised,
        )


def kvm_vendor(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """Crossing vendors under KVM.

    Passthrough and host-model show the source's CPU, vendor and family included: a blocker.
    A named model shows each host's vendor unless pinned (target/i386/host-cpu.c
    ``host_cpu_instance_init``), so an unpinned guest sees its vendor string change at the
    destination, and KVM emulates SYSENTER/SYSEXIT in a 64-bit guest's 32-bit (compat-mode)
    processes only when the guest's vendor is Intel's, SYSCALL in compat mode only when it is
    AMD's (Linux arch/x86/kvm/emulate.c ``em_sysenter``/``em_sysexit`` and
    ``em_syscall_is_enabled``, via ``is_guest_vendor_intel``/``is_guest_vendor_amd``): a guest
    that booted on one vendor picked one of them, and its 32-bit processes fault after the move.
    docs/domain.md#the-axes grades this a hazard (warning).  Pinned, the guest keeps one vendor
    and KVM emulates that vendor's instructions on the other's CPUs: info.
    """
    if source.vendor == destination.vendor:
        return []
    pair = f"{vendor_name(source.vendor)} -> {vendor_name(destination.vendor)}"
    if not guest.named:
        return [
            Reason(
                "vendor",
                "blocker",
                f"{pair}: with {guest.mode} the guest sees the source's vendor, family and model; "
                "a running guest cannot be moved to another vendor's CPU this way (use a common "
                "named model with a pinned vendor)",
            )
        ]
    if guest.vendor_pin:
        return [
            Reason(
                "vendor",
                "info",
                f"{pair}: the guest's vendor is pinned to {guest.vendor_pin}, so it keeps it on "
                "every host, and KVM emulates that vendor's SYSENTER/SYSCALL behaviour for 32-bit "
                "processes on the other vendor's CPUs (Linux arch/x86/kvm/emulate.c em_sysenter, "
                "em_syscall_is_enabled)",
            )
        ]
    return [
        Reason(
            "vendor",
            "warning",
            f"{pair}: the guest's vendor is not pinned, so QEMU gives it each host's vendor "
            f"string: it boots as {vendor_name(source.vendor)} and sees "
            f"{vendor_name(destination.vendor)} after the move; KVM emulates SYSENTER for 32-bit "
            "processes only for a guest whose vendor is Intel (and SYSCALL in compat mode only "
            "for AMD), so 32-bit programs of a 64-bit guest can fault after the migration, and "
            "vendor-specific MSRs differ; pin it (QEMU vendor=GenuineIntel or AuthenticAMD, "
            "libvirt <model vendor_id='...'>)",
        )
    ]


def kvm_address_bits(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """The guest's physical address width is fixed when it starts.

    From the host (``-cpu host``'s host-phys-bits): a narrower destination cannot map the guest's
    memory or MMIO above its limit: blocker.  QEMU's default 40 bits or ``phys-bits=N``: QEMU only
    warns when the width differs from the host's (target/i386/host-cpu.c
    ``host_cpu_adjust_phys_bits``: "Host physical bits (%u) does not match phys-bits property");
    a destination narrower than the guest *and* than the source is a warning, one at least as
    wide as the source changes nothing (the guest already ran so): info.
    """
    if guest.phys_bits is None or destination.phys_bits is None:
        side = "the source" if guest.phys_bits is None else "the destination"
        return [
            Reason(
                "address bits",
                "warning",
                f"the physical address width of {side} is not in its report, so it cannot be "
                "compared",
            )
        ]
    if guest.phys_bits <= destination.phys_bits:
        return []
    stake = (
        f"guest-physical memory or 64-bit MMIO (PCI BARs) placed above 2^{destination.phys_bits} "
        "cannot be mapped there"
    )
    if guest.phys_bits_from_host:
        return [
            Reason(
                "address bits",
                "blocker",
                f"the guest was given the source's width, {guest.phys_bits} physical address "
                f"bits (host-phys-bits), but the destination has only {destination.phys_bits} "
                f"(MAXPHYADDR, CPUID 0x80000008): {stake}",
            )
        ]
    fix = (
        f"give the guest phys-bits={destination.phys_bits} (libvirt <maxphysaddr "
        f"mode='emulate' bits='{destination.phys_bits}'/>)"
    )
    if source.phys_bits is not None and destination.phys_bits >= source.phys_bits:
        return [
            Reason(
                "address bits",
                "info",
                f"the guest has {guest.phys_bits} physical address bits, more than the "
                f"destination's {destination.phys_bits}, but no fewer than the source had: "
                "nothing changes with the move (QEMU warned at start); to be exact, " + fix,
            )
        ]
    return [
        Reason(
            "address bits",
            "warning",
            f"the guest has {guest.phys_bits} physical address bits (QEMU's default unless "
            f"phys-bits is set) and the destination only {destination.phys_bits}, fewer than "
            f"the source: QEMU only warns, but {stake}; {fix}",
        )
    ]


def kvm_invtsc(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """An invariant TSC exposed to the guest (only when asked: ``+invtsc`` or migratable=off).

    Without ``tsc-frequency`` QEMU registers a migration blocker for it, even between identical
    hosts (target/i386/kvm/kvm.c ``kvm_arch_init_vcpu``: "State blocked by non-migratable CPU
    device (invtsc flag)", skipped when ``env->user_tsc_khz`` is set).  With it, the destination
    must run that frequency or scale the TSC, else QEMU fails the migration
    (target/i386/kvm/kvm.c ``kvm_arch_set_tsc_khz``: "TSC frequency mismatch between VM ... and
    host ..., and TSC scaling unavailable"): AMD ``tsc_scale``, Intel VMX "Use TSC scaling".
    """
    if not guest.has_invtsc:
        return []
    if not destination.has_invtsc:
        return [
            Reason(
                "tsc",
                "blocker",
                "the guest has an invariant TSC (invtsc) and the destination has none",
                ("invtsc",),
            )
        ]
    if guest.tsc_khz is None:
        return [
            Reason(
                "tsc",
                "blocker",
                f"the guest has an invariant TSC without tsc-frequency: QEMU refuses to migrate "
                f"it ('{INVTSC_BLOCKER}'), even between identical hosts; set tsc-frequency, or "
                "drop invtsc",
                ("invtsc",),
            )
        ]
    scaling = destination.tsc_scaling
    frequency = f"{guest.tsc_khz} kHz"
    if scaling == "cpuid":
        how = "it has AMD TSC ratio scaling (tsc_scale)"
    elif scaling == "msr":
        how = "its VMX controls allow 'Use TSC scaling' (IA32_VMX_PROCBASED_CTLS2)"
    elif scaling == "inferred":
        how = (
            "Intel VMX TSC scaling exists from Skylake on (inferred from the CPU generation: the "
            "report has no VMX MSRs to confirm it)"
        )
    else:
        how = None
    if how:
        return [
            Reason(
                "tsc",
                "info",
                f"the guest's TSC runs at tsc-frequency={frequency}; the destination can keep "
                f"that rate: {how}",
                ("invtsc",),
            )
        ]
    if source.cpu_id is not None and source.cpu_id == destination.cpu_id:
        return [
            Reason(
                "tsc",
                "warning",
                f"the guest's TSC runs at tsc-frequency={frequency} and the destination cannot "
                "scale TSC: QEMU accepts the migration only if the destination's kernel reports "
                "exactly that TSC frequency (the same CPU model, but kernels calibrate it "
                "separately)",
                ("invtsc",),
            )
        ]
    return [
        Reason(
            "tsc",
            "blocker",
            f"the guest's TSC runs at tsc-frequency={frequency}, the destination is another CPU "
            "and cannot scale TSC: QEMU fails the migration unless that host's TSC runs at "
            "exactly this frequency ('TSC frequency mismatch ... TSC scaling unavailable')",
            ("invtsc",),
        )
    ]


def kvm_nested(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """vmx/svm exposed to the guest (``-cpu host`` shows them: kvm_intel/kvm_amd ``nested=1`` is
    the default; a named model only with ``+vmx``/``+svm``).  Same vendor: QEMU migrates the
    nested state only when both kernels support KVM_CAP_NESTED_STATE, else it registers a
    migration blocker (target/i386/kvm/kvm.c ``kvm_arch_init_vcpu``, nested_virt_mig_blocker):
    warning.  Across vendors VMX and SVM are different instruction sets: blocker."""
    if not guest.has_nested:
        return []
    if source.vendor == destination.vendor:
        return [
            Reason(
                "nested virt",
                "warning",
                "vmx/svm is exposed to the guest: migrating a guest that may run its own guests "
                "needs nested-state migration (KVM_CAP_NESTED_STATE) in both hosts' kernels and "
                "QEMU, which otherwise block the migration",
                ("vmx", "svm"),
            )
        ]
    return [
        Reason(
            "nested virt",
            "blocker",
            "vmx/svm is exposed to the guest: Intel VMX and AMD SVM are different instruction "
            "sets, so a guest hypervisor cannot continue on the other vendor",
            ("vmx", "svm"),
        )
    ]


def kvm_vmx_capabilities(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """A nested (vmx) guest's VMX capabilities: QEMU exposes the VMX controls as ``vmx-*``
    properties read from the host's VMX capability MSRs (target/i386/cpu.c
    ``feature_word_info[FEAT_VMX_*]``, target/i386/kvm/kvm.c
    ``kvm_arch_get_supported_msr_feature``) and writes them into the guest's IA32_VMX_* MSRs; a
    migration restores those MSR values, and KVM refuses a value that offers a control the
    destination cannot (Linux arch/x86/kvm/vmx/nested.c ``vmx_restore_control_msr``: the
    restored allowed-1 bits must be a subset of the host's), so the destination must offer every
    capability the guest was given: blocker when it lacks one, warning when either side's
    capabilities are not in its report.  A named QEMU model gives the guest only its own
    ``vmx-*`` list (QEMU 5.1+ model definitions) of what the source has; passthrough and
    host-model give all the source has.  Only for a guest exposing vmx between Intel hosts (SVM
    has no such MSRs; crossing vendors is ``kvm_nested``'s blocker)."""
    if not guest.has_nested or source.vendor != destination.vendor:
        return []
    if source.vendor != "GenuineIntel":
        return []
    if source.vmx_features is None or destination.vmx_features is None:
        side = (
            "source report carries" if source.vmx_features is None else "destination report carries"
        )
        if source.vmx_features is None and destination.vmx_features is None:
            side = "source and destination reports carry"
        return [
            Reason(
                "nested virt",
                "warning",
                f"the {side} no VMX capabilities (MSRs 0x480-0x491), so whether "
                "the destination offers every vmx-* capability the nested guest was given is "
                "unknown; upload libvirt cpudata with <msr> rows or `cpukb report` run as root",
                ("vmx",),
            )
        ]
    given = source.vmx_features
    if guest.model_vmx is not None:
        given = given & guest.model_vmx
    lacking = sorted(given - destination.vmx_features)
    if not lacking:
        return []
    shown = ", ".join(lacking[:8]) + (", ..." if len(lacking) > 8 else "")
    return [
        Reason(
            "nested virt",
            "blocker",
            f"the nested guest was given VMX capabilities the destination lacks ({shown}): KVM "
            "refuses to restore a VMX capability MSR that offers more than the host can, so the "
            "migration fails (Linux vmx_restore_control_msr); give the guest only the common "
            "ones (e.g. -cpu ...,-" + lacking[0] + ") or keep it on hosts with equal VMX",
            tuple(lacking),
        )
    ]


def kvm_model_release(guest: GuestAttrs, source: HostAttrs, destination: HostAttrs) -> list[Reason]:
    """A named model exists only from a given QEMU (or libvirt) release: QEMU refuses an unknown
    ``-cpu`` name (target/i386/cpu.c ``x86_cpu_class_by_name`` returns no class: "unable to find
    CPU model"), libvirt an unknown ``<model>`` (src/cpu/cpu_x86.c ``x86ModelFind``: "Unknown CPU
    model").  The first release of each name: ``releases`` (from QEMU's and libvirt's own source
    at each release tag).  Destination too old: blocker naming the release that introduced it.
    The destination's version unknown while the source's is known, or inside a range of libvirt
    releases that were not observed: info, not a warning, so that reports without a stack do not
    all turn risky; neither side's version known: nothing is said (docs/compatibility.md)."""
    if guest.model_name is None or guest.model_source not in ("qemu", "libvirt"):
        return []
    reasons = []
    checks = [("qemu", destination.qemu_version, source.qemu_version)]
    if guest.model_source == "libvirt":
        checks = [("libvirt", destination.libvirt_version, source.libvirt_version)]
    for project, version, source_version in checks:
        if version is None and source_version is None:
            continue  # neither report has a stack: not checked, and not said on every verdict
        available = releases.availability(guest.model_name, project)
        if available is None:
            continue
        has = available.on(version)
        if has is False:
            reasons.append(
                Reason(
                    "stack",
                    "blocker",
                    f"the guest's CPU model {guest.model_name} first appeared in "
                    f"{available.describe()}; the destination runs {available.project} "
                    f"{releases.show(version)}, which does not have it, so the guest cannot be "
                    f"started there (upgrade the destination's {available.project} or choose an "
                    "older model)",
                )
            )
        elif has is None:
            known = version is not None
            reasons.append(
                Reason(
                    "stack",
                    "info",
                    f"the guest's CPU model {guest.model_name} exists since "
                    f"{available.describe()}; "
                    + (
                        f"whether {available.project} {releases.show(version)} has it is not "
                        "recorded"
                        if known
                        else f"the destination's {available.project} version is not in its "
                        "report, so this is not checked"
                    ),
                )
            )
    return reasons


def kvm_passthrough_identity(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """Passthrough between different CPUs (family/model/stepping differ) is unsafe, not
    forbidden: the destination QEMU rebuilds CPUID from its own host, so the guest's identity,
    cache and topology leaves and model-specific behaviour change under it (QEMU
    docs/system/i386/cpu.rst "Host passthrough"; libvirt formatdomain host-passthrough: migration
    is dangerous unless hardware, microcode, QEMU version and configuration are identical)."""
    if (
        guest.mode != PASSTHROUGH
        or source.vendor != destination.vendor
        or source.cpu_id is None
        or destination.cpu_id is None
        or source.cpu_id[1:4] == destination.cpu_id[1:4]
    ):
        return []
    before = "/".join(map(str, source.cpu_id[1:4]))
    after = "/".join(map(str, destination.cpu_id[1:4]))
    return [
        Reason(
            "identity",
            "warning",
            f"host-passthrough between different CPUs (family/model/stepping {before} -> "
            f"{after}): the guest's CPUID is rebuilt from the destination, so its CPU identity, "
            "cache/topology leaves and model-specific errata and MSRs change under the running "
            f"guest; {PASSTHROUGH_DOC}; use a named model for a mixed pool",
        )
    ]


def kvm_cpuid_virtualised(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs
) -> list[Reason]:
    """Why KVM needs no masking hardware across vendors or generations: CPUID always exits under
    VT-x and is always intercepted under AMD-V (Intel SDM vol. 3C; Linux
    arch/x86/kvm/svm/svm.c ``init_vmcb``), docs/assists.md."""
    same_vendor = source.vendor == destination.vendor
    if same_vendor and (
        source.cpu_id is None
        or destination.cpu_id is None
        or source.cpu_id[1:3] == destination.cpu_id[1:3]
    ):
        return []
    crossing = "vendors" if not same_vendor else "CPU generations (family/model)"
    return [Reason("assists", "info", f"this migration crosses {crossing}: {KVM_CPUID_POLICY}")]


POLICY = KvmPolicy()
