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

The verdict level is a function of three mask facts (guest features D lacks, guest features D's
report cannot show, guest features S lacks) and of a few per-host attributes (``HostAttrs``);
``matrix`` evaluates the same ``axis_reasons`` over those attributes, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from . import baseline as pool_baseline
from . import guest_models
from .baseline import (
    GUEST_VISIBLE,
    INVTSC,
    KVM_EMULATED,
    NON_MIGRATABLE,
    NOT_VIRTUALISED,
    QEMU_DEFAULT_PHYS_BITS,
    VMX_SVM,
    XSAVE_STATE,
    HostView,
    host_view,
    names,
)
from .guest_models import GuestModel
from .result import DecodedDump
from .table import TABLE

# Bump when a change to the rules can change a verdict: the ledger stores it with each prediction.
ENGINE_VERSION = "1.0"
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
    "identity",
    "report",
)
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

    @classmethod
    def of(cls, host: HostView) -> HostAttrs:
        identity = host.identity
        feature_mask = host.feature_mask
        return cls(
            identity.vendor,
            identity.phys_bits,
            identity.in_vm,
            host.absent_means_unknown,
            bool(feature_mask & INVTSC),
            bool(feature_mask & TSC_SCALE),
            (identity.vendor, identity.family, identity.model, identity.stepping, identity.brand),
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
    """A guest CPU on a given source: its features, address width and display string."""

    mode: str
    feature_mask: int
    phys_bits: int | None
    model_spec: str | None
    model_vendor: str | None
    no_model: str | None = None

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


def resolve_guest(
    guest: GuestCpu,
    source: HostView,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None = None,
) -> ResolvedGuest:
    """What the guest sees when it is started on ``source``."""
    if guest.mode == PASSTHROUGH:
        return ResolvedGuest(
            PASSTHROUGH,
            source.feature_mask & GUEST_VISIBLE,
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
        return ResolvedGuest(MODEL, guest.feature_mask, bits, guest.spec, guest.model.vendor)
    if pool_result is None:
        raise ValueError("a baseline guest needs the pool's baseline")
    bits = pool_result.guest_phys_bits if qemu else source.identity.phys_bits
    if hypervisor == "vmware":
        vendor_key = pool_baseline.VENDOR_KEYS.get(source.identity.vendor, source.identity.vendor)
        key = pool_result.evc_modes.get(vendor_key)
        if key is None:
            why = f"no EVC mode is supported by every {_vendor(source.identity.vendor)} host"
            return ResolvedGuest(BASELINE, 0, bits, None, source.identity.vendor, why)
        mode = guest_models.find(key)
        return ResolvedGuest(BASELINE, mode.feature_mask, bits, key, mode.vendor)
    fitted = pool_result.qemu_model
    return ResolvedGuest(
        BASELINE, fitted.feature_mask, bits, pool_result.qemu_spec, fitted.model.vendor
    )


def source_gaps(guest: ResolvedGuest, source: HostView, hypervisor: str) -> tuple[int, int]:
    """(guest features S lacks, guest features S's report cannot show) for named models."""
    if guest.mode not in (MODEL, BASELINE):
        return 0, 0
    offered = source.feature_mask | (KVM_EMULATED if hypervisor == "kvm" else 0)
    gaps = guest.feature_mask & ~offered
    unknown = gaps & source.known_absent_unknown
    return gaps & ~unknown, unknown


def destination_gaps(guest: ResolvedGuest, destination: HostView, hypervisor: str):
    """(guest features D lacks, guest features D's report cannot show)."""
    named = guest.mode in (MODEL, BASELINE)
    offered = destination.feature_mask | (KVM_EMULATED if named and hypervisor == "kvm" else 0)
    gaps = guest.feature_mask & ~offered
    unknown = gaps & destination.known_absent_unknown
    return gaps & ~unknown, unknown


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
        # Hook for processor compatibility mode, which a later issue models precisely.
        reasons.append(
            Reason(
                "features",
                "info",
                "Hyper-V: the named model stands for processor compatibility mode, which hides "
                "newer features; its exact feature set is refined separately",
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


def check(
    source: HostView | DecodedDump,
    destination: HostView | DecodedDump,
    guest_cpu: str | GuestCpu = PASSTHROUGH,
    hypervisor: str = "kvm",
    *,
    pool: Sequence[HostView | DecodedDump] | None = None,
    vocabulary: str = "canonical",
    suggest: bool = True,
) -> Verdict:
    """The directed verdict for migrating a guest from ``source`` to ``destination``."""
    if hypervisor not in HYPERVISORS:
        raise ValueError(f"unknown hypervisor {hypervisor!r}; use one of {HYPERVISORS}")
    source_view, destination_view = host_view(source), host_view(destination)
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    pool_result = None
    if guest.mode == BASELINE:
        members = [source_view, destination_view] if pool is None else list(pool)
        pool_result = pool_baseline.compute(members)
    resolved = resolve_guest(guest, source_view, hypervisor, pool_result)
    missing, unknown = destination_gaps(resolved, destination_view, hypervisor)
    source_missing, source_unknown = source_gaps(resolved, source_view, hypervisor)
    reasons = _feature_reasons(
        resolved, missing, unknown, source_missing, source_unknown, vocabulary
    )
    reasons += axis_reasons(
        resolved.attrs, HostAttrs.of(source_view), HostAttrs.of(destination_view), hypervisor
    )
    order = {severity: i for i, severity in enumerate(reversed(SEVERITIES))}
    reasons.sort(key=lambda r: (order[r.severity], AXES.index(r.axis)))
    verdict = level_of(reasons, guest.is_named)
    suggestion = None
    if suggest and verdict not in ("safe", "safe-with-model") and guest.mode != BASELINE:
        suggestion = _suggest(source_view, destination_view, hypervisor, verdict, vocabulary)
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
    )


def _suggest(
    source: HostView, destination: HostView, hypervisor: str, verdict: str, vocabulary: str
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
    better = check(source, destination, spec, hypervisor, vocabulary=vocabulary, suggest=False)
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
