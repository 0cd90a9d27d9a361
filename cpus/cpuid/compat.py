"""Can a VM live-migrate from host S to host D?  A directed, explained verdict.

``check(source, destination, guest_cpu, hypervisor)`` answers for one guest CPU configuration:

``host-passthrough``   the guest sees S's CPU as the hypervisor passes it through (on KVM QEMU's
                       ``-cpu host``: migratable features only unless ``migratable=off`` or
                       ``+invtsc``; options ``phys-bits=N``, ``host-phys-bits=off``,
                       ``tsc-frequency=N``);
``host-model``         S's migratable, virtualisable features through a named model;
a named model          ``Opteron_G2,-rdtscp``, ``Penryn,+popcnt``, ``libvirt:Penryn``, an EVC key
                       (``intel-penryn``) or ``x86-64-v2``, with ``+f``/``-f``/``f=on|off``,
                       ``phys-bits=N``, ``vendor=GenuineIntel|AuthenticAMD``, ``tsc-frequency=N``;
``baseline``           the pool baseline (``pool=``, default {S, D}): on KVM and Hyper-V the fitted
                       QEMU model, on VMware the highest EVC mode of S's vendor in the pool.

What each configuration shows the guest, and every non-feature rule, is the hypervisor's policy:
one module per hypervisor in ``cpus.cpuid.policies`` (``kvm``, ``vmware``, ``hyperv``), each rule
a small function whose docstring names its source.  This module adds what all share: the feature
masks (guest features D lacks, or S lacks for a named model), the XSAVE state components, the
report quality, VMware EVC admission and Hyper-V compatibility-mode reasons, the level and the
suggestion.

Every reason has an axis, a severity (``info``, ``warning``, ``blocker``), a message and the
features it is about (canonical Linux names unless ``vocabulary`` says otherwise).  The verdict
is ``blocked`` with any blocker, else ``risky`` with any warning, else ``safe-with-model`` when the
guest runs a named model (safe provided the guest uses exactly ``guest_model``), else ``safe``.
docs/compatibility.md states every rule, its severity and its source.

The verdict level is a function of three mask facts (guest features D lacks, guest features D's
report cannot show, guest features S lacks) and of per-host and per-guest attributes
(``HostAttrs``, ``GuestAttrs``); ``matrix`` evaluates the same ``axis_reasons`` over those
attributes, so both always agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from . import assists as hw_assists
from . import baseline as pool_baseline
from . import guest_models, policies, releases
from . import guest_os as guest_os_catalog
from .baseline import (
    EvcAdmission,
    HostView,
    evc_admission,
    evc_admission_message,
    host_name,
    host_view,
    names,
)
from .feature_classes import XSAVE_COMPONENTS
from .levels import LEVELS, SAFE_LEVELS, Level
from .policies.base import (
    BASELINE,
    HOST_MODEL,
    MODEL,
    PASSTHROUGH,
    TSC_SCALE,
    GuestAttrs,
    GuestCpu,
    HostAttrs,
    Reason,
    ResolvedGuest,
    vendor_name,
)
from .policies.hyperv import CLASSIC_MODES, COMPATIBILITY_MODES, hyperv_hidden, hyperv_newer_mask
from .policies.vmware import evc_display
from .result import DecodedDump
from .table import TABLE

__all__ = [
    "BASELINE",
    "HOST_MODEL",
    "MODEL",
    "PASSTHROUGH",
    "TSC_SCALE",
    "GuestAttrs",
    "GuestCpu",
    "HostAttrs",
    "Reason",
    "ResolvedGuest",
    "hyperv_newer_mask",
]

# Bump when a change to the rules can change a verdict: the ledger stores it with each prediction.
ENGINE_VERSION = "2.0"
SEVERITIES = ("info", "warning", "blocker")
# Every list of hypervisors reads the policy registry.
HYPERVISORS = policies.HYPERVISORS
AXES = (
    "features",
    "vendor",
    "address bits",
    "xsave",
    "tsc",
    "nested virt",
    "assists",
    "identity",
    "stack",
    "report",
)
# Hyper-V processor compatibility modes: the classic "2008r2" and "standard" lists, and the
# dynamic mode (Windows Server 2025), whose guest sees the pool's common features.
HYPERV_COMPATIBILITY = COMPATIBILITY_MODES
_VENDORS = {
    "genuineintel": "GenuineIntel",
    "authenticamd": "AuthenticAMD",
    "hygongenuine": "HygonGenuine",
}
_ON = ("on", "true", "yes")
_OFF = ("off", "false", "no")


class GuestCpuError(ValueError):
    """A guest CPU string that names no model or feature we know."""


def _switch(token: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _ON:
        return True
    if lowered in _OFF:
        return False
    raise GuestCpuError(f"unsupported guest CPU option {token!r}: use on or off")


def parse_guest_cpu(spec: str) -> GuestCpu:
    """Parse ``host-passthrough[,opts]``, ``host-model[,opts]``, ``baseline`` or
    ``Model[,+f][,-g][,f=on][,phys-bits=N][,vendor=V][,tsc-frequency=HZ]...``."""
    text = spec.strip()
    name, *tokens = [part.strip() for part in text.split(",")]
    lowered = name.lower()
    model = None
    if lowered in (PASSTHROUGH, "passthrough", "host"):
        mode = PASSTHROUGH
    elif lowered == HOST_MODEL:
        mode = HOST_MODEL
    elif lowered in (BASELINE, "pool-baseline"):
        if any(tokens):
            raise GuestCpuError("baseline takes no options: the pool decides the guest CPU")
        return GuestCpu(text, BASELINE)
    else:
        mode = MODEL
        model = guest_models.find(name)
        if model is None:
            raise GuestCpuError(
                f"unknown guest CPU model {name!r}: use host-passthrough, host-model, baseline, "
                "or a QEMU 7.2 / libvirt 9.0 model, a VMware EVC key or x86-64-v1..v4"
            )
    added = removed = 0
    options: dict = {}
    for token in tokens:
        if not token:
            continue
        key, equals, value = token.partition("=")
        key = key.strip().lower()
        if equals and key == "phys-bits":
            if not value.strip().isdigit() or not 32 <= int(value) <= 64:
                raise GuestCpuError(f"phys-bits must be a number of bits (32-64), not {value!r}")
            options["phys_bits"] = int(value)
            continue
        if equals and key == "host-phys-bits":
            options["host_phys_bits"] = _switch(token, value)
            continue
        if equals and key == "migratable":
            options["migratable"] = _switch(token, value)
            continue
        if equals and key in ("tsc-frequency", "tsc_frequency"):
            if not value.strip().isdigit() or int(value) < 1_000_000:
                raise GuestCpuError(f"tsc-frequency is a frequency in Hz, not {value!r}")
            options["tsc_khz"] = int(value) // 1000
            continue
        if equals and key in ("vendor", "vendor_id"):
            vendor = _VENDORS.get(value.strip().lower())
            if vendor is None:
                raise GuestCpuError(
                    f"vendor must be GenuineIntel, AuthenticAMD or HygonGenuine, not {value!r}"
                )
            if mode != MODEL:
                raise GuestCpuError("vendor= applies to a named model only")
            options["vendor"] = vendor
            continue
        if equals:
            sign, feature_name = ("+" if _switch(token, value) else "-"), key
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
    return GuestCpu(text, mode, model, added, removed, **options)


def resolve_guest(
    guest: GuestCpu,
    source: HostView,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None = None,
    hyperv_compatibility: str | None = None,
) -> ResolvedGuest:
    """What the guest sees when it is started on ``source`` (the hypervisor's policy)."""
    policy = policies.get(hypervisor)
    resolved = policy.resolve(guest, source, pool_result)
    if hyperv_compatibility:
        resolved = policy.apply_compatibility(resolved, source, hyperv_compatibility, pool_result)
    return resolved


def _offered(host: HostView, guest: ResolvedGuest, hypervisor: str) -> int:
    named = guest.mode in (MODEL, BASELINE)
    return host.feature_mask | (policies.get(hypervisor).emulated if named else 0)


def source_gaps(guest: ResolvedGuest, source: HostView, hypervisor: str) -> tuple[int, int]:
    """(guest features S lacks, guest features S's report cannot show or the guest may not see,
    ``guest.uncertain``) for named models."""
    if guest.mode not in (MODEL, BASELINE):
        return 0, 0
    gaps = guest.feature_mask & ~_offered(source, guest, hypervisor)
    unknown = gaps & (source.known_absent_unknown | guest.uncertain)
    return gaps & ~unknown, unknown


def destination_gaps(guest: ResolvedGuest, destination: HostView, hypervisor: str):
    """(guest features D lacks, guest features D's report cannot show).  Features the guest may
    not see at all (``guest.uncertain``) are in neither: ``uncertain_gaps`` has them."""
    gaps = guest.feature_mask & ~_offered(destination, guest, hypervisor) & ~guest.uncertain
    unknown = gaps & destination.known_absent_unknown
    return gaps & ~unknown, unknown


def uncertain_gaps(guest: ResolvedGuest, destination: HostView, hypervisor: str) -> int:
    """Features the guest may or may not see (Hyper-V "standard" mode) that D lacks or may lack."""
    if not guest.uncertain:
        return 0
    return guest.uncertain & ~_offered(destination, guest, hypervisor)


def _vendor(vendor: str | None) -> str:
    return vendor_name(vendor)


def axis_reasons(
    guest: GuestAttrs, source: HostAttrs, destination: HostAttrs, hypervisor: str
) -> list[Reason]:
    """Every reason that does not come from the feature masks (vendor, address bits, TSC,
    nested virtualisation, identity, report quality and hypervisor policy): the rules of the
    hypervisor's policy module, then the rules every policy shares."""
    return policies.get(hypervisor).reasons(guest, source, destination)


def level_of(reasons: Iterable[Reason], named: bool) -> str:
    severities = {reason.severity for reason in reasons}
    if "blocker" in severities:
        return Level.BLOCKED.value
    if "warning" in severities:
        return Level.RISKY.value
    return Level.SAFE_WITH_MODEL.value if named else Level.SAFE.value


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
        reasons += xsave_components(guest.feature_mask, missing)
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


def xsave_components(guest_mask: int, missing: int) -> list[Reason]:
    """XSAVE saves and restores *state components*, enabled in XCR0 (Intel SDM vol. 1 chapter
    13; Linux arch/x86/kernel/fpu/xstate.c).  A guest whose XCR0 enables a component the
    destination lacks cannot have its saved state restored there (QEMU's migration stream carries
    the XSAVE area: target/i386/machine.c vmstate for YMM/ZMM/opmask/PKRU/BND registers, and KVM
    rejects XCR0 bits the host does not support: arch/x86/kvm/x86.c __kvm_set_xcr).  Only the
    enabling feature of a component matters: ``xsaveopt``, ``xsavec`` or a new AVX-512
    instruction subset add no state."""
    by_feature: dict[str, list[str]] = {}
    for bit, component, feature in XSAVE_COMPONENTS:
        mask = TABLE.by_name[feature].mask
        if guest_mask & mask and missing & mask:
            by_feature.setdefault(feature, []).append(f"{component} (XCR0 bit {bit})")
    xsave = TABLE.by_name["xsave"].mask
    reasons = []
    if guest_mask & xsave and missing & xsave:
        reasons.append(
            Reason(
                "xsave",
                "blocker",
                "the destination has no XSAVE at all, so the guest's XCR0-managed state (x87, "
                "SSE and any extended component it enabled) cannot be restored there",
                ("xsave",),
            )
        )
    for feature, components in by_feature.items():
        reasons.append(
            Reason(
                "xsave",
                "blocker",
                f"the destination lacks the XSAVE state component(s) {', '.join(components)} "
                f"that the guest's {feature} uses, so its saved register state cannot be "
                "restored there",
                (feature,),
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
            f"{HYPERV_COMPATIBILITY}"
        )
    if hypervisor != "hyperv":
        raise ValueError("hyperv_compatibility applies to hypervisor='hyperv' only")


def compatibility_unlisted(guest: ResolvedGuest, source: HostView) -> bool:
    """Hyper-V compatibility mode on a vendor without a documented hidden list (a warning)."""
    return guest.compatibility in CLASSIC_MODES and (
        hyperv_hidden(source.identity.vendor, guest.compatibility) is None
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
                f"VMware EVC mode {evc_display(guest.evc_mode)}: "
                + evc_admission_message(admission, host, who, vocabulary),
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
    if mode == "dynamic":
        hidden = names(guest.hidden, vocabulary)
        return [
            Reason(
                "features",
                "info",
                "Hyper-V dynamic processor compatibility mode (Windows Server 2025, Azure Stack "
                "HCI 22H2 and later, VM configuration version 10 or later): the guest sees the "
                "features common to every host of the pool (the cluster's nodes), so it does not "
                f"see {', '.join(hidden) or 'anything the pool shares'} of the source "
                "(Microsoft Learn, 'Processor compatibility mode in Hyper-V')",
                tuple(hidden),
            )
        ]
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
    guest_os: str | None = None,
) -> Verdict:
    """The directed verdict for migrating a guest from ``source`` to ``destination``.

    ``guest_os`` (a ``cpus.cpuid.guest_os`` release, ``rhel-10``): a guest CPU below the
    release's documented floor is a blocker (the guest would not boot).

    ``hyperv_compatibility`` (Hyper-V only): ``"2008r2"`` or ``"standard"`` processor
    compatibility mode, which hides the documented features from the guest, or ``"dynamic"``,
    which shows the features common to ``pool`` (default {S, D}); None: off.
    """
    if hypervisor not in HYPERVISORS:
        raise ValueError(f"unknown hypervisor {hypervisor!r}; use one of {HYPERVISORS}")
    check_compatibility_mode(hypervisor, hyperv_compatibility)
    source_view, destination_view = host_view(source), host_view(destination)
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    pool_result = None
    if guest.mode == BASELINE or hyperv_compatibility == "dynamic":
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
    if guest_os is not None:
        reasons += guest_os_catalog.reasons(resolved.feature_mask, guest_os_catalog.get(guest_os))
    order = {severity: i for i, severity in enumerate(reversed(SEVERITIES))}
    reasons.sort(key=lambda r: (order[r.severity], AXES.index(r.axis)))
    verdict = level_of(reasons, guest.is_named)
    suggestion = None
    if suggest and hypervisor == "hyperv" and hyperv_compatibility is None and verdict == "blocked":
        suggestion = _suggest_compatibility(
            source_view, destination_view, guest, pool, verdict, vocabulary
        )
    if suggest and suggestion is None and verdict not in SAFE_LEVELS and guest.mode != BASELINE:
        suggestion = _suggest(
            source_view,
            destination_view,
            hypervisor,
            verdict,
            vocabulary,
            hyperv_compatibility,
            reasons,
            missing,
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
    for mode in CLASSIC_MODES if pool is None else (*CLASSIC_MODES, "dynamic"):
        if mode == "dynamic" and best is not None:
            break
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
        "leaves": _leaves(better),
        "hyperv_compatibility": mode,
        "guest_cpu": guest.spec,
        "verdict": better.verdict,
        "hypervisor": "hyperv",
        "libvirt_model": None,
        "message": (
            f"enable processor compatibility mode ({mode}"
            + (
                ", Windows Server 2025, VM configuration version 10 or later"
                if mode == "dynamic"
                else ""
            )
            + "): it hides "
            f"{', '.join(hidden) or 'no feature of the source'} from the guest, which would then "
            f"be {better.verdict} instead of {verdict}"
        ),
    }


def _leaves(better: Verdict) -> list[str]:
    """What the suggested configuration still leaves: its warnings and blockers, in words."""
    return [f"{r.axis} {r.severity}: {r.message}" for r in better.reasons if r.severity != "info"]


def _fixes(current: Sequence[Reason], missing: int, better: Verdict, vocabulary: str) -> str:
    """What switching to the suggested guest CPU removes, in words."""
    parts = []
    if missing and not better.missing_mask & missing:
        listed = names(missing, vocabulary)
        shown = ", ".join(listed[:6]) + (", ..." if len(listed) > 6 else "")
        parts.append(f"the {len(listed)} missing feature(s) ({shown})")
    remaining = {(r.axis, r.severity) for r in better.reasons}
    gone = []
    for reason in current:
        if reason.severity == "info" or (reason.axis, reason.severity) in remaining:
            continue
        if reason.axis in ("features", "xsave") and missing:
            continue
        label = f"the {reason.axis} {reason.severity}"
        if label not in gone:
            gone.append(label)
    parts += gone
    return " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)


def _spec_on_both_stacks(pair, source: HostView, destination: HostView) -> str | None:
    """The pair's QEMU guest CPU, refitted among the models both hosts' QEMU releases have when
    the best one is newer than either (``releases``): a suggestion never names a model a
    host's recorded QEMU lacks.  Unknown versions do not restrict.  Models are named by their
    display name, often the versioned ``NAME-vN`` (QEMU 4.1+), so before 4.1 few or none fit
    and there is no suggestion rather than a wrong one."""
    versions = [v.stack.qemu for v in (source, destination) if v.stack and v.stack.qemu]
    if not versions:
        return pair.qemu_spec

    def available(model) -> bool:
        # the suggestion names the model by its display name (FittedModel.spec)
        known = releases.qemu_availability(model.display_name)
        return known is None or all(known.on(v) is not False for v in versions)

    if available(pair.qemu_model.model):
        return pair.qemu_spec
    allowed = frozenset(
        name for model in guest_models.models_of("qemu") if available(model) for name in model.names
    )
    fitted = pool_baseline.fit(
        pair.feature_mask, "qemu", vendor=pair.qemu_model.model.vendor, allowed=allowed
    )
    if fitted is None:
        return None
    return fitted.spec + pair.qemu_spec[len(pair.qemu_model.spec) :]


def _suggest(
    source: HostView,
    destination: HostView,
    hypervisor: str,
    verdict: str,
    vocabulary: str,
    hyperv_compatibility: str | None = None,
    current: Sequence[Reason] = (),
    missing: int = 0,
) -> dict | None:
    """The named guest CPU that fits {S, D}, if it does better than the current verdict: on KVM
    the pair's fitted QEMU model, on VMware the pair's EVC mode.  Hyper-V has no named models:
    its suggestion is a compatibility mode (``_suggest_compatibility``)."""
    if hypervisor == "hyperv":
        return None
    pair = pool_baseline.compute([source, destination])
    if hypervisor == "vmware":
        vendor_key = pool_baseline.VENDOR_KEYS.get(source.identity.vendor)
        spec = pair.evc_mode if vendor_key else None
    else:
        spec = _spec_on_both_stacks(pair, source, destination) if pair.qemu_model else None
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
    if hypervisor == "vmware":
        what = f"EVC mode {evc_display(spec)} (per-VM or cluster), the highest both hosts support"
    else:
        what = f"guest CPU {spec!r}, the best named model both hosts can run"
    fixes = _fixes(current, missing, better, vocabulary)
    return {
        "guest_cpu": spec,
        "verdict": better.verdict,
        "hypervisor": hypervisor,
        "libvirt_model": (
            pair.libvirt_model.spec if pair.libvirt_model and hypervisor != "vmware" else None
        ),
        "leaves": _leaves(better),
        "message": (
            f"use {what}: it removes {fixes or 'nothing this verdict names'}, so the guest would "
            f"be {better.verdict} instead of {verdict}"
        ),
    }
