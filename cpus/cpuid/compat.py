"""Can a VM live-migrate from host S to host D?  A directed, explained verdict.

``check(source, destination, guest_cpu, hypervisor)`` answers for one guest CPU configuration:

``host-passthrough``   the guest sees S's CPU (every CPU feature S shows, invtsc included);
``host-model``         S's migratable, virtualisable features through a named model;
a named model          ``Opteron_G2,-rdtscp``, ``Penryn,+popcnt``, ``libvirt:Penryn``, an EVC key
                       (``intel-penryn``) or ``x86-64-v2``, with ``+f``/``-f``/``f=on|off`` and
                       ``phys-bits=N``;
``baseline``           the pool baseline (``pool=``, default {S, D}): on KVM and Hyper-V the fitted
                       QEMU model, on VMware the highest EVC mode of S's vendor in the pool.

Every reason has an axis, a severity (``info``, ``warning``, ``blocker``), a message and the
features it is about (canonical Linux names unless ``vocabulary`` says otherwise).  The verdict
is ``blocked`` with any blocker, else ``risky`` with any warning, else ``safe-with-model`` when the
guest runs a named model (safe provided the guest uses exactly ``guest_model``), else ``safe``.
docs/compatibility.md states every rule and why.

Hypervisor policies (section 3 of the doc): on VMware a host must be masked down to the guest's
EVC mode by its hardware assist (``assists`` axis: no assist, or one that cannot hide the
features, blocks); on Hyper-V ``hyperv_compatibility`` applies processor compatibility mode's
documented hidden list; on KVM an info reason says CPUID is virtualised, so no assist is needed.

The verdict level is a function of three mask facts (guest features D lacks, guest features D's
report cannot show, guest features S lacks) and of a few per-host attributes (``HostAttrs``);
``matrix`` evaluates the same ``axis_reasons`` over those attributes, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from . import assists as hw_assists
from . import baseline as pool_baseline
from . import guest_models
from .baseline import (
    GUEST_VISIBLE,
    HOST_ONLY,
    INVTSC,
    KVM_EMULATED,
    NON_MIGRATABLE,
    NOT_VIRTUALISED,
    QEMU_DEFAULT_PHYS_BITS,
    VMX_SVM,
    XSAVE_STATE,
    EvcAdmission,
    HostView,
    assist_masks,
    evc_admission,
    evc_admission_message,
    host_assists,
    host_name,
    host_view,
    names,
)
from .guest_models import GuestModel
from .result import DecodedDump
from .table import TABLE

# Bump when a change to the rules can change a verdict: the ledger stores it with each prediction.
ENGINE_VERSION = "1.1"
LEVELS = ("safe", "safe-with-model", "risky", "blocked")
SEVERITIES = ("info", "warning", "blocker")
HYPERVISORS = ("kvm", "vmware", "hyperv")
AXES = (
    "features",
    "vendor",
    "address bits",
    "xsave",
    "tsc",
    "nested virt",
    "assists",
    "identity",
    "report",
)
# Hyper-V processor compatibility modes check() models (docs/assists.md); "dynamic" (Windows
# Server 2025) depends on the whole cluster and has no fixed list.
HYPERV_COMPATIBILITY = ("2008r2", "standard")
PASSTHROUGH = "host-passthrough"
HOST_MODEL = "host-model"
MODEL = "model"
BASELINE = "baseline"
TSC_SCALE = TABLE.by_name["tsc_scale"].mask
_VENDOR_NAMES = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD", "HygonGenuine": "Hygon"}


class GuestCpuError(ValueError):
    """A guest CPU string that names no model or feature we know."""


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


@dataclass(frozen=True, slots=True)
class GuestCpu:
    """A parsed guest CPU configuration (before it meets a source host)."""

    spec: str
    mode: str
    model: GuestModel | None = None
    added: int = 0
    removed: int = 0
    phys_bits: int | None = None

    @property
    def is_named(self) -> bool:
        return self.mode in (MODEL, BASELINE)

    @property
    def feature_mask(self) -> int | None:
        """The guest's features for a named model; None when they come from the host."""
        if self.model is None:
            return None
        return (self.model.feature_mask | self.added) & ~self.removed


def parse_guest_cpu(spec: str) -> GuestCpu:
    """Parse ``host-passthrough``, ``host-model``, ``baseline`` or ``Model[,+f][,-g][,f=on]...``."""
    text = spec.strip()
    lowered = text.lower()
    if lowered in (PASSTHROUGH, "passthrough", "host"):
        return GuestCpu(text, PASSTHROUGH)
    if lowered == HOST_MODEL:
        return GuestCpu(text, HOST_MODEL)
    if lowered in (BASELINE, "pool-baseline"):
        return GuestCpu(text, BASELINE)
    name, *tokens = [part.strip() for part in text.split(",")]
    model = guest_models.find(name)
    if model is None:
        raise GuestCpuError(
            f"unknown guest CPU model {name!r}: use host-passthrough, host-model, baseline, or a "
            "QEMU 7.2 / libvirt 9.0 model, a VMware EVC key or x86-64-v1..v4"
        )
    added = removed = 0
    phys_bits = None
    for token in tokens:
        if not token:
            continue
        key, equals, value = token.partition("=")
        if equals and key.strip().lower() == "phys-bits":
            if not value.strip().isdigit() or not 32 <= int(value) <= 64:
                raise GuestCpuError(f"phys-bits must be a number of bits (32-64), not {value!r}")
            phys_bits = int(value)
            continue
        if equals:
            if value.strip().lower() not in ("on", "off", "true", "false"):
                raise GuestCpuError(f"unsupported guest CPU option {token!r}")
            sign, feature_name = "+" if value.strip().lower() in ("on", "true") else "-", key
        elif token[0] in "+-":
            sign, feature_name = token[0], token[1:]
        else:
            sign, feature_name = "+", token
        feature = TABLE.lookup(feature_name)
        if feature is None:
            raise GuestCpuError(f"unknown CPU feature {feature_name!r} in {spec!r}")
        if sign == "+":
            added |= feature.mask
            removed &= ~feature.mask
        else:
            removed |= feature.mask
            added &= ~feature.mask
    return GuestCpu(text, MODEL, model, added, removed, phys_bits)


class HostAttrs(NamedTuple):
    """The per-host facts that decide every axis except the feature masks.

    A named tuple rather than a dataclass: the matrix builds and hashes one per host class.
    """

    vendor: str
    phys_bits: int | None
    in_vm: bool
    absent_means_unknown: bool
    has_invtsc: bool
    has_tsc_scale: bool
    cpu_id: tuple | None
    # (host assists unknown, features the available assists can hide, features assists of
    # unknown confidence could hide): decides VMware EVC admission with the feature masks.
    assists: tuple[bool, int, int] | None = None

    @classmethod
    def of(cls, host: HostView) -> HostAttrs:
        identity = host.identity
        feature_mask = host.feature_mask
        report = host_assists(host)
        return cls(
            identity.vendor,
            identity.phys_bits,
            identity.in_vm,
            host.absent_means_unknown,
            bool(feature_mask & INVTSC),
            bool(feature_mask & TSC_SCALE),
            (identity.vendor, identity.family, identity.model, identity.stepping, identity.brand),
            (report.host_unknown, *assist_masks(report)),
        )


class GuestAttrs(NamedTuple):
    """The facts of a resolved guest CPU that decide the non-feature axes."""

    mode: str
    phys_bits: int | None
    has_invtsc: bool
    has_nested: bool
    model_vendor: str | None
    no_model: str | None = None  # why no guest model exists (VMware pool without an EVC mode)


class ResolvedGuest(NamedTuple):
    """A guest CPU on a given source: its features, address width and display string.

    ``evc_mode``/``evc_vendor``: the VMware EVC mode the guest runs (a named EVC key, or the
    pool's mode for ``baseline``), which every host must be masked down to.  ``hidden``: the
    source's features Hyper-V processor compatibility mode hides; ``uncertain``: guest features
    that mode may hide too ("standard" is a documented lower bound).
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

    @property
    def attrs(self) -> GuestAttrs:
        return GuestAttrs(
            self.mode,
            self.phys_bits,
            bool(self.feature_mask & INVTSC),
            bool(self.feature_mask & VMX_SVM),
            self.model_vendor,
            self.no_model,
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
    not_isa = (
        pool_baseline.NESTED | pool_baseline.MITIGATIONS | TABLE.by_name["arch_capabilities"].mask
    )
    return (later | new_leaves) & TABLE.cpu_feature_mask & ~HOST_ONLY & ~era & ~not_isa


def _hyperv_hidden(vendor: str, compatibility: str) -> int | None:
    """The documented hidden mask, or None for a vendor without a documented list."""
    try:
        return hw_assists.hyperv_hidden_mask(vendor, compatibility)
    except ValueError:
        return None


def resolve_guest(
    guest: GuestCpu,
    source: HostView,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None = None,
    hyperv_compatibility: str | None = None,
) -> ResolvedGuest:
    """What the guest sees when it is started on ``source``."""
    resolved = _resolve(guest, source, hypervisor, pool_result)
    if hypervisor == "hyperv" and hyperv_compatibility:
        hidden = _hyperv_hidden(source.identity.vendor, hyperv_compatibility)
        if hidden is None:  # no documented list for this vendor: nothing is known to be hidden
            return resolved._replace(compatibility=hyperv_compatibility)
        mask = resolved.feature_mask & ~hidden
        uncertain = mask & hyperv_newer_mask() if hyperv_compatibility == "standard" else 0
        return resolved._replace(
            feature_mask=mask,
            hidden=resolved.feature_mask & hidden,
            uncertain=uncertain,
            compatibility=hyperv_compatibility,
        )
    return resolved


def _resolve(
    guest: GuestCpu,
    source: HostView,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None,
) -> ResolvedGuest:
    if guest.mode == PASSTHROUGH:
        # -cpu host gives the guest what the hypervisor can virtualise of S: never the thermal,
        # debug-store, SMX or topology bits (NOT_VIRTUALISED), so their absence on D is no gap.
        return ResolvedGuest(
            PASSTHROUGH,
            source.feature_mask & GUEST_VISIBLE & ~NOT_VIRTUALISED,
            source.identity.phys_bits,
            None,
            source.identity.vendor,
        )
    if guest.mode == HOST_MODEL:
        mask = source.feature_mask & GUEST_VISIBLE & ~NON_MIGRATABLE & ~NOT_VIRTUALISED
        bits = QEMU_DEFAULT_PHYS_BITS if hypervisor == "kvm" else source.identity.phys_bits
        return ResolvedGuest(HOST_MODEL, mask, bits, None, source.identity.vendor)
    # QEMU gives a named model 40 address bits unless told otherwise; VMware and Hyper-V have no
    # such override here, so their guests are assumed to see the source host's width.
    qemu = hypervisor == "kvm"
    if guest.mode == MODEL:
        bits = guest.phys_bits or (QEMU_DEFAULT_PHYS_BITS if qemu else source.identity.phys_bits)
        evc = hypervisor == "vmware" and guest.model.source == "vmware-evc"
        return ResolvedGuest(
            MODEL,
            guest.feature_mask,
            bits,
            guest.spec,
            guest.model.vendor,
            evc_mode=guest.model.name if evc else None,
            evc_vendor=guest.model.vendor if evc else None,
        )
    if pool_result is None:
        raise ValueError("a baseline guest needs the pool's baseline")
    bits = pool_result.guest_phys_bits if qemu else source.identity.phys_bits
    if hypervisor == "vmware":
        vendor_key = pool_baseline.VENDOR_KEYS.get(source.identity.vendor, source.identity.vendor)
        key = pool_result.evc_modes.get(vendor_key)
        if key is None:
            why = f"no EVC mode is supported by every {_vendor(source.identity.vendor)} host"
            lacking = pool_result.evc_unsupported.get(vendor_key)
            if lacking:
                why += f" ({lacking}: none supported)"
            return ResolvedGuest(BASELINE, 0, bits, None, source.identity.vendor, why)
        mode = guest_models.find(key)
        return ResolvedGuest(
            BASELINE,
            mode.feature_mask,
            bits,
            key,
            mode.vendor,
            evc_mode=key,
            evc_vendor=mode.vendor,
        )
    fitted = pool_result.qemu_model
    return ResolvedGuest(
        BASELINE, fitted.feature_mask, bits, pool_result.qemu_spec, fitted.model.vendor
    )


def source_gaps(guest: ResolvedGuest, source: HostView, hypervisor: str) -> tuple[int, int]:
    """(guest features S lacks, guest features S's report cannot show or the guest may not see,
    ``guest.uncertain``) for named models."""
    if guest.mode not in (MODEL, BASELINE):
        return 0, 0
    offered = source.feature_mask | (KVM_EMULATED if hypervisor == "kvm" else 0)
    gaps = guest.feature_mask & ~offered
    unknown = gaps & (source.known_absent_unknown | guest.uncertain)
    return gaps & ~unknown, unknown


def destination_gaps(guest: ResolvedGuest, destination: HostView, hypervisor: str):
    """(guest features D lacks, guest features D's report cannot show).  Features the guest may
    not see at all (``guest.uncertain``) are in neither: ``uncertain_gaps`` has them."""
    named = guest.mode in (MODEL, BASELINE)
    offered = destination.feature_mask | (KVM_EMULATED if named and hypervisor == "kvm" else 0)
    gaps = guest.feature_mask & ~offered & ~guest.uncertain
    unknown = gaps & destination.known_absent_unknown
    return gaps & ~unknown, unknown


def uncertain_gaps(guest: ResolvedGuest, destination: HostView, hypervisor: str) -> int:
    """Features the guest may or may not see (Hyper-V "standard" mode) that D lacks or may lack."""
    if not guest.uncertain:
        return 0
    named = guest.mode in (MODEL, BASELINE)
    offered = destination.feature_mask | (KVM_EMULATED if named and hypervisor == "kvm" else 0)
    return guest.uncertain & ~offered


def _vendor(vendor: str | None) -> str:
    return _VENDOR_NAMES.get(vendor or "", vendor or "vendor-neutral")


def axis_reasons(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs, hypervisor: str
) -> list[Reason]:
    """Every reason that does not come from the feature masks (vendor, address bits, TSC,
    nested virtualisation, identity, report quality and hypervisor policy)."""
    reasons = []
    named = guest.mode in (MODEL, BASELINE)
    if guest.no_model:
        reasons.append(
            Reason("features", "blocker", f"VMware: {guest.no_model} of the pool (EVC baseline)")
        )
    same_vendor = source.vendor == destination.vendor
    if not same_vendor:
        pair = f"{_vendor(source.vendor)} -> {_vendor(destination.vendor)}"
        if not named:
            reasons.append(
                Reason(
                    "vendor",
                    "blocker",
                    f"{pair}: with {guest.mode} the guest sees the source's vendor and CPU; a "
                    "running guest cannot be moved to another vendor's CPU this way (use a "
                    "common named model)",
                )
            )
        elif hypervisor == "vmware":
            reasons.append(
                Reason(
                    "vendor",
                    "blocker",
                    f"{pair}: VMware vMotion never crosses CPU vendors, EVC or not",
                )
            )
        elif hypervisor == "hyperv":
            reasons.append(
                Reason(
                    "vendor",
                    "blocker",
                    f"{pair}: Hyper-V live migration requires the same CPU vendor, even in "
                    "processor compatibility mode",
                )
            )
        else:
            reasons.append(
                Reason(
                    "vendor",
                    "warning",
                    f"{pair}: KVM runs the common model on both vendors, but the guest keeps "
                    f"the {_vendor(guest.model_vendor)} vendor string on every host, KVM "
                    "emulates the SYSENTER/SYSCALL differences between vendors, and "
                    "vendor-specific MSRs (microcode, performance counters, errata) differ; "
                    "test the guest OS",
                )
            )
    if guest.phys_bits is None or destination.phys_bits is None:
        unknown_side = "the source" if guest.phys_bits is None else "the destination"
        reasons.append(
            Reason(
                "address bits",
                "warning",
                f"the physical address width of {unknown_side} is not in its report, so it "
                "cannot be compared",
            )
        )
    elif guest.phys_bits > destination.phys_bits:
        fix = (
            f"; give the guest phys-bits={destination.phys_bits} (libvirt <maxphysaddr "
            f"mode='emulate' bits='{destination.phys_bits}'/>)"
            if named
            else ""
        )
        reasons.append(
            Reason(
                "address bits",
                "blocker",
                f"the guest has {guest.phys_bits} physical address bits but the destination "
                f"only {destination.phys_bits} (MAXPHYADDR, CPUID 0x80000008): guest memory or "
                f"MMIO above 2^{destination.phys_bits} cannot be mapped there{fix}",
            )
        )
    if guest.has_invtsc:
        if not destination.has_invtsc:
            reasons.append(
                Reason(
                    "tsc",
                    "blocker",
                    "the guest has an invariant TSC (invtsc) and the destination has none",
                    ("invtsc",),
                )
            )
        elif source.cpu_id == destination.cpu_id or destination.has_tsc_scale:
            why = (
                "same CPU model, so the same nominal TSC frequency"
                if source.cpu_id == destination.cpu_id
                else "the destination can scale the guest's TSC (tsc_scale)"
            )
            reasons.append(
                Reason(
                    "tsc",
                    "warning",
                    "the guest has an invariant TSC: its frequency must stay within 250 ppm "
                    f"after migration ({why}; the reports do not give the measured frequency, "
                    "so set tsc-frequency explicitly)",
                    ("invtsc",),
                )
            )
        else:
            reasons.append(
                Reason(
                    "tsc",
                    "blocker",
                    "the guest has an invariant TSC and the hosts are different CPUs, whose TSC "
                    "frequencies almost certainly differ by more than 250 ppm; without TSC "
                    "scaling the guest clock would change rate (hide invtsc, or use a named model)",
                    ("invtsc",),
                )
            )
    if guest.has_nested:
        if same_vendor:
            reasons.append(
                Reason(
                    "nested virt",
                    "warning",
                    "vmx/svm is exposed to the guest: migrating a guest that runs its own "
                    "guests needs nested-state migration support in both hosts' KVM/QEMU",
                    ("vmx", "svm"),
                )
            )
        else:
            reasons.append(
                Reason(
                    "nested virt",
                    "blocker",
                    "vmx/svm is exposed to the guest: Intel VMX and AMD SVM are different "
                    "instruction sets, so a guest hypervisor cannot continue on the other vendor",
                    ("vmx", "svm"),
                )
            )
    if (
        guest.mode == PASSTHROUGH
        and source.cpu_id is not None
        and destination.cpu_id is not None
        and source.cpu_id[1:4] != destination.cpu_id[1:4]
    ):
        reasons.append(
            Reason(
                "identity",
                "info",
                "family/model/stepping differ "
                f"({'/'.join(map(str, source.cpu_id[1:4]))} -> "
                f"{'/'.join(map(str, destination.cpu_id[1:4]))}): the guest keeps the source's "
                "identity, so model-specific errata workarounds and MSRs may not match",
            )
        )
    for side, attrs in (("source", source), ("destination", destination)):
        if attrs.in_vm:
            reasons.append(
                Reason(
                    "report",
                    "warning",
                    f"the {side} report was taken inside a virtual machine: it shows a masked "
                    "guest view, not the host's CPU",
                )
            )
        if attrs.absent_means_unknown:
            reasons.append(
                Reason(
                    "report",
                    "warning",
                    f"the {side} report lists feature names, not CPUID bits: a feature it does "
                    "not name is unknown, not absent, so this verdict may miss a difference",
                )
            )
    if hypervisor == "hyperv" and named:
        reasons.append(
            Reason(
                "features",
                "info",
                "Hyper-V has no named guest CPU models: the named model stands for what the "
                "guest is shown; processor compatibility mode (hyperv_compatibility '2008r2' or "
                "'standard') hides the documented features on top of it",
            )
        )
    if hypervisor == "kvm" and (
        not same_vendor
        or (
            source.cpu_id is not None
            and destination.cpu_id is not None
            and source.cpu_id[1:3] != destination.cpu_id[1:3]
        )
    ):
        crossing = "vendors" if not same_vendor else "CPU generations (family/model)"
        reasons.append(
            Reason(
                "assists",
                "info",
                f"this migration crosses {crossing}: {hw_assists.KVM_CPUID_POLICY}",
            )
        )
    return reasons


def level_of(reasons: Iterable[Reason], named: bool) -> str:
    severities = {reason.severity for reason in reasons}
    if "blocker" in severities:
        return "blocked"
    if "warning" in severities:
        return "risky"
    return "safe-with-model" if named else "safe"


@dataclass(frozen=True)
class Verdict:
    """A directed answer: can a guest with ``guest_cpu`` move from source to destination."""

    verdict: str
    guest_cpu: str
    hypervisor: str
    reasons: tuple[Reason, ...]
    missing_mask: int
    guest_model: str | None = None
    suggestion: dict | None = None
    vocabulary: str = "canonical"
    source: str = ""
    destination: str = ""
    guest_mask: int = field(default=0, repr=False)
    hyperv_compatibility: str | None = None
    hidden_mask: int = field(default=0, repr=False)

    @property
    def missing(self) -> list[str]:
        """Guest features the destination lacks, in the verdict's vocabulary."""
        return names(self.missing_mask, self.vocabulary)

    @property
    def missing_count(self) -> int:
        return self.missing_mask.bit_count()

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "source": self.source,
            "destination": self.destination,
            "guest_cpu": self.guest_cpu,
            "guest_model": self.guest_model,
            "hypervisor": self.hypervisor,
            "hyperv_compatibility": self.hyperv_compatibility,
            "missing": self.missing,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "suggestion": self.suggestion,
        }


def _feature_reasons(
    guest: ResolvedGuest,
    missing: int,
    unknown: int,
    source_missing: int,
    source_unknown: int,
    vocabulary: str,
) -> list[Reason]:
    reasons = []
    if source_missing:
        listed = names(source_missing, vocabulary)
        reasons.append(
            Reason(
                "features",
                "blocker",
                f"the guest model needs {len(listed)} feature(s) the source lacks, so the guest "
                f"cannot run there: {', '.join(listed)}",
                tuple(listed),
            )
        )
    if missing:
        listed = names(missing, vocabulary)
        reasons.append(
            Reason(
                "features",
                "blocker",
                f"the destination lacks {len(listed)} feature(s) the guest uses: "
                f"{', '.join(listed)}",
                tuple(listed),
            )
        )
        xsave = names(missing & XSAVE_STATE, vocabulary)
        if xsave:
            reasons.append(
                Reason(
                    "xsave",
                    "blocker",
                    "XSAVE-managed state the guest uses is missing on the destination, so its "
                    f"saved register state cannot be restored there: {', '.join(xsave)}",
                    tuple(xsave),
                )
            )
    for side, mask in (("source", source_unknown), ("destination", unknown)):
        if mask:
            listed = names(mask, vocabulary)
            reasons.append(
                Reason(
                    "report",
                    "warning",
                    f"the {side} report cannot show whether it has {len(listed)} feature(s) the "
                    f"guest uses (treated as unknown, not absent): {', '.join(listed)}",
                    tuple(listed),
                )
            )
    return reasons


def check_compatibility_mode(hypervisor: str, hyperv_compatibility: str | None) -> None:
    """Refuse a compatibility mode the engine does not model, or one given to another hypervisor."""
    if hyperv_compatibility is None:
        return
    if hyperv_compatibility not in HYPERV_COMPATIBILITY:
        raise ValueError(
            f"unknown Hyper-V compatibility mode {hyperv_compatibility!r}; use one of "
            f"{HYPERV_COMPATIBILITY} (dynamic mode depends on the whole cluster: use a baseline)"
        )
    if hypervisor != "hyperv":
        raise ValueError("hyperv_compatibility applies to hypervisor='hyperv' only")


def compatibility_unlisted(guest: ResolvedGuest, source: HostView) -> bool:
    """Hyper-V compatibility mode on a vendor without a documented hidden list (a warning)."""
    return guest.compatibility is not None and (
        _hyperv_hidden(source.identity.vendor, guest.compatibility) is None
    )


def evc_admissions(guest: ResolvedGuest, host: HostView) -> EvcAdmission | None:
    """VMware: can ``host`` be masked down to the guest's EVC mode (None: no EVC mode)."""
    if guest.evc_mode is None:
        return None
    return evc_admission(guest.feature_mask, guest.evc_mode, guest.evc_vendor, host)


def _admission_reasons(
    guest: ResolvedGuest, source: HostView, destination: HostView, vocabulary: str
) -> list[Reason]:
    reasons = []
    for side, host in (("source", source), ("destination", destination)):
        admission = evc_admissions(guest, host)
        if admission is None or admission.severity is None:
            continue
        who = f"the {side} {host_name(host, '')}".rstrip()
        features = admission.uncovered if admission.severity != "info" else admission.hide
        reasons.append(
            Reason(
                "assists",
                admission.severity,
                "VMware EVC: " + evc_admission_message(admission, host, who, vocabulary),
                tuple(names(features, vocabulary)),
            )
        )
    return reasons


def _compatibility_reasons(
    guest: ResolvedGuest, source: HostView, uncertain: int, source_uncertain: int, vocabulary: str
) -> list[Reason]:
    """Hyper-V processor compatibility mode: what it hid, and what it may hide."""
    if guest.compatibility is None:
        return []
    mode = guest.compatibility
    vendor = source.identity.vendor
    if compatibility_unlisted(guest, source):
        return [
            Reason(
                "features",
                "warning",
                f"Hyper-V processor compatibility mode ({mode}): no documented hidden list for "
                f"{_vendor(vendor)} CPUs, so the guest is assumed to see every feature",
            )
        ]
    info = hw_assists.hyperv_compatibility(vendor, mode)
    hidden = names(guest.hidden, vocabulary)
    reasons = [
        Reason(
            "features",
            "info",
            f"Hyper-V processor compatibility mode ({mode}) hides "
            f"{', '.join(info.hidden_names)} on {_vendor(vendor)} hosts; of these the source "
            f"has {', '.join(hidden) or 'none'}, so the guest does not see them "
            f"({'; '.join(info.sources)}; docs/assists.md)",
            tuple(hidden),
        )
    ]
    for side, mask in (("source", source_uncertain), ("destination", uncertain)):
        if mask:
            listed = names(mask, vocabulary)
            reasons.append(
                Reason(
                    "features",
                    "warning",
                    f"Hyper-V {mode} compatibility mode: its documented hidden list is a lower "
                    "bound (Microsoft: it hides instruction sets 'typically those introduced "
                    "within the last 10 years'), so whether the guest sees these newer features, "
                    f"which the {side} lacks, is unknown: {', '.join(listed)}",
                    tuple(listed),
                )
            )
    return reasons


def check(
    source: HostView | DecodedDump,
    destination: HostView | DecodedDump,
    guest_cpu: str | GuestCpu = PASSTHROUGH,
    hypervisor: str = "kvm",
    *,
    pool: Sequence[HostView | DecodedDump] | None = None,
    vocabulary: str = "canonical",
    suggest: bool = True,
    hyperv_compatibility: str | None = None,
) -> Verdict:
    """The directed verdict for migrating a guest from ``source`` to ``destination``.

    ``hyperv_compatibility`` (Hyper-V only): ``"2008r2"`` or ``"standard"`` processor
    compatibility mode, which hides the documented features from the guest; None: off.
    """
    if hypervisor not in HYPERVISORS:
        raise ValueError(f"unknown hypervisor {hypervisor!r}; use one of {HYPERVISORS}")
    check_compatibility_mode(hypervisor, hyperv_compatibility)
    source_view, destination_view = host_view(source), host_view(destination)
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    pool_result = None
    if guest.mode == BASELINE:
        members = [source_view, destination_view] if pool is None else list(pool)
        pool_result = pool_baseline.compute(members)
    resolved = resolve_guest(guest, source_view, hypervisor, pool_result, hyperv_compatibility)
    missing, unknown = destination_gaps(resolved, destination_view, hypervisor)
    source_missing, source_unknown = source_gaps(resolved, source_view, hypervisor)
    source_uncertain = source_unknown & resolved.uncertain & ~source_view.known_absent_unknown
    reasons = _feature_reasons(
        resolved, missing, unknown, source_missing, source_unknown & ~source_uncertain, vocabulary
    )
    reasons += _compatibility_reasons(
        resolved,
        source_view,
        uncertain_gaps(resolved, destination_view, hypervisor),
        source_uncertain,
        vocabulary,
    )
    reasons += _admission_reasons(resolved, source_view, destination_view, vocabulary)
    reasons += axis_reasons(
        resolved.attrs, HostAttrs.of(source_view), HostAttrs.of(destination_view), hypervisor
    )
    order = {severity: i for i, severity in enumerate(reversed(SEVERITIES))}
    reasons.sort(key=lambda r: (order[r.severity], AXES.index(r.axis)))
    verdict = level_of(reasons, guest.is_named)
    suggestion = None
    if suggest and hypervisor == "hyperv" and hyperv_compatibility is None and verdict == "blocked":
        suggestion = _suggest_compatibility(
            source_view, destination_view, guest, pool, verdict, vocabulary
        )
    if (
        suggest
        and suggestion is None
        and verdict not in ("safe", "safe-with-model")
        and guest.mode != BASELINE
    ):
        suggestion = _suggest(
            source_view, destination_view, hypervisor, verdict, vocabulary, hyperv_compatibility
        )
    return Verdict(
        verdict=verdict,
        guest_cpu=guest.spec,
        hypervisor=hypervisor,
        reasons=tuple(reasons),
        missing_mask=missing,
        guest_model=resolved.model_spec,
        suggestion=suggestion,
        vocabulary=vocabulary,
        source=source_view.label,
        destination=destination_view.label,
        guest_mask=resolved.feature_mask,
        hyperv_compatibility=hyperv_compatibility,
        hidden_mask=resolved.hidden,
    )


def _suggest_compatibility(
    source: HostView,
    destination: HostView,
    guest: GuestCpu,
    pool: Sequence[HostView | DecodedDump] | None,
    verdict: str,
    vocabulary: str,
) -> dict | None:
    """Hyper-V: the compatibility mode that unblocks this pair, if one does (2008r2 first on a
    tie: its list is complete)."""
    best: tuple[str, Verdict] | None = None
    for mode in HYPERV_COMPATIBILITY:
        other = check(
            source,
            destination,
            guest,
            "hyperv",
            pool=pool,
            vocabulary=vocabulary,
            suggest=False,
            hyperv_compatibility=mode,
        )
        if other.verdict == "blocked":
            continue
        if best is None or LEVELS.index(other.verdict) < LEVELS.index(best[1].verdict):
            best = (mode, other)
    if best is None:
        return None
    mode, better = best
    hidden = names(better.hidden_mask, vocabulary)
    return {
        "hyperv_compatibility": mode,
        "guest_cpu": guest.spec,
        "verdict": better.verdict,
        "hypervisor": "hyperv",
        "libvirt_model": None,
        "message": (
            f"enable processor compatibility mode ({mode}): it hides "
            f"{', '.join(hidden) or 'no feature of the source'} from the guest, which would then "
            f"be {better.verdict} instead of {verdict}"
        ),
    }


def _suggest(
    source: HostView,
    destination: HostView,
    hypervisor: str,
    verdict: str,
    vocabulary: str,
    hyperv_compatibility: str | None = None,
) -> dict | None:
    """The named guest CPU that fits {S, D}, if it does better than the current verdict."""
    pair = pool_baseline.compute([source, destination])
    if hypervisor == "vmware":
        vendor_key = pool_baseline.VENDOR_KEYS.get(source.identity.vendor)
        spec = pair.evc_mode if vendor_key else None
    else:
        spec = pair.qemu_spec
    if spec is None:
        return None
    better = check(
        source,
        destination,
        spec,
        hypervisor,
        vocabulary=vocabulary,
        suggest=False,
        hyperv_compatibility=hyperv_compatibility,
    )
    if LEVELS.index(better.verdict) >= LEVELS.index(verdict):
        return None
    return {
        "guest_cpu": spec,
        "verdict": better.verdict,
        "hypervisor": hypervisor,
        "libvirt_model": (
            pair.libvirt_model.spec if pair.libvirt_model and hypervisor != "vmware" else None
        ),
        "message": (
            f"the guest would be {better.verdict} with guest CPU {spec!r} "
            "(the best named model both hosts can run)"
        ),
    }
