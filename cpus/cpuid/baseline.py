"""Pool baselines: the one guest CPU every host of a pool can run, and its names.

``compute(reports)`` intersects the hosts' features with the merge rules below, then fits named
models to the result: the best QEMU model and the best libvirt model (each with the ``+``/``-``
features that make it exact), a libvirt model that needs no ``-`` feature (for OpenStack Nova),
the highest VMware EVC mode per vendor, and the x86-64 psABI level.  Mixed Intel/AMD pools are
the point, not an error.  docs/compatibility.md states every rule with its reasoning.

Merge rules (over ``TABLE`` bits):

* intersection of the features each host *shows present*; a feature a name-based report does not
  name is unknown there, so it is not in the baseline (it is listed as ``unknown`` instead);
* the ``*_NO`` "not affected" bits (``mds_no``, ``taa_no``, ``amd_ssb_no``...) intersect like
  every other bit: a pool is unaffected only if every host is;
* mitigation-present bits (``md_clear``, ``spec_ctrl``, ``amd_ssbd``...) also intersect: a guest
  told to rely on VERW clearing buffers would be unprotected on a host without that microcode,
  and QEMU refuses to start a guest whose model asks for a bit the host lacks; a note names the
  hosts that lack a mitigation the others have;
* left out: features that cannot migrate (``invtsc``, ``xsaves``), host power/monitoring bits,
  OS-state bits and the hypervisor bit, features hypervisors never virtualise (``NOT_VIRTUALISED``)
  and nested virtualisation (``vmx``, ``svm`` and the SVM sub-features), which is opt-in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, cached_property, lru_cache

from . import cpu_map, guest_models, vmx
from .assists import AssistReport, assists_of, migration_assists
from .feature_classes import (
    GUEST_VISIBLE,
    HOST_ONLY,
    MITIGATIONS,
    NESTED,
    NON_MIGRATABLE,
    NOT_VIRTUALISED,
    TSX,
    VMX_SVM,
    VOLATILE,
)
from .guest_models import GuestModel
from .identity import vendor_name
from .result import DecodedDump, Identity
from .stack import HostStack
from .table import TABLE
from .vocabulary import VOCABULARIES

# QEMU's guest physical address width for named models unless host-phys-bits=on
# (TCG_PHYS_ADDR_BITS); libvirt inherits it.
QEMU_DEFAULT_PHYS_BITS = 40


# Every bit a migratable baseline may contain.
BASELINE_UNIVERSE = (
    TABLE.cpu_feature_mask & ~HOST_ONLY & ~NON_MIGRATABLE & ~NOT_VIRTUALISED & ~NESTED
)
VENDOR_KEYS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon"}
_NAMED_IN = {
    vocabulary: TABLE.mask_of(f for f in TABLE if f.name_in(vocabulary))
    for vocabulary in VOCABULARIES
}


@dataclass(frozen=True, slots=True)
class HostView:
    """What the engine needs of a host report; ``DecodedDump`` is accepted wherever this is."""

    identity: Identity
    feature_mask: int
    unknown_mask: int = 0
    absent_means_unknown: bool = False
    warnings: tuple[str, ...] = ()
    label: str = ""
    # The host's migration assists (CPUID masking, override, faulting).  None: derive them from
    # the identity alone (``host_assists``), as for stored reports without raw leaves.
    assists: AssistReport | None = None
    # IA32_VMX_PROCBASED_CTLS2 (MSR 0x48B) when the dump carried it: says whether VMX can scale a
    # guest's TSC (``policies.base.tsc_scaling``).  None: not in the report.
    vmx_procbased_ctls2: int | None = None
    # The software stack (QEMU/libvirt versions, VMX capabilities, ...): ``stack.HostStack``.
    # None: the report says nothing about it.
    stack: HostStack | None = None

    @property
    def vendor(self) -> str:
        return self.identity.vendor

    @property
    def known_absent_unknown(self) -> int:
        """Features whose state the report cannot tell (unknown and not shown present)."""
        return self.unknown_mask & ~self.feature_mask


def stack_of_msrs(msrs) -> HostStack | None:
    """The VMX capabilities a dump's MSR rows carry (``vmx.decode``), as a stack; None without
    VMX MSRs."""
    features = vmx.decode(msrs) if msrs else None
    return None if features is None else HostStack(vmx_features=features)


def host_view(report: HostView | DecodedDump, label: str = "") -> HostView:
    if isinstance(report, HostView):
        return report
    if isinstance(report, DecodedDump):
        return HostView(
            identity=report.identity,
            feature_mask=report.feature_mask,
            unknown_mask=report.unknown_mask,
            absent_means_unknown=report.absent_means_unknown,
            warnings=tuple(report.warnings),
            label=label,
            assists=assists_of(report),
            vmx_procbased_ctls2=report.msrs.get(0x48B),
            stack=stack_of_msrs(report.msrs),
        )
    raise TypeError(f"expected a DecodedDump or HostView, not {type(report).__name__}")


@lru_cache(maxsize=4096)
def _identity_assists(identity: Identity) -> AssistReport:
    return migration_assists(identity)


def host_assists(host: HostView) -> AssistReport:
    """The host's migration assists: from its report when it had raw leaves, else from the
    identity (family/model/stepping), where CPUID-enumerated ones become ``unknown``."""
    if host.assists is not None:
        return host.assists
    return _identity_assists(host.identity)


def host_name(host: HostView, fallback: str = "the host") -> str:
    """How messages name a host: its label, else its brand string."""
    return host.label or host.identity.brand or fallback


def names(mask: int, vocabulary: str = "canonical") -> list[str]:
    """Sorted names of a mask's features; features without a name there are left out."""
    return sorted(name for f in TABLE.from_mask(mask) if (name := f.name_in(vocabulary)))


@dataclass(frozen=True, slots=True)
class FittedModel:
    """A named model plus the ``+``/``-`` features that turn it into exactly the baseline.

    ``feature_mask`` is what the guest gets (the baseline's features this vocabulary can name);
    ``unexpressible`` are baseline features the vocabulary has no name for.
    """

    model: GuestModel
    vocabulary: str
    plus: int
    minus: int
    feature_mask: int
    unexpressible: int

    @property
    def name(self) -> str:
        return self.model.display_name

    @property
    def plus_names(self) -> list[str]:
        return names(self.plus, self.vocabulary)

    @property
    def minus_names(self) -> list[str]:
        return names(self.minus, self.vocabulary)

    @property
    def spec(self) -> str:
        """``Opteron_G2,+vme,-rdtscp,-svm`` in this model's vocabulary."""
        parts = [self.name, *(f"+{n}" for n in self.plus_names)]
        parts += [f"-{n}" for n in self.minus_names]
        return ",".join(parts)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.model.source,
            "model": self.model.name,
            "vendor": self.model.vendor,
            "plus": self.plus_names,
            "minus": self.minus_names,
            "spec": self.spec,
            "unexpressible": names(self.unexpressible),
        }


def fit(
    feature_mask: int,
    source: str,
    *,
    vendor: str | None = None,
    allow_minus: bool = True,
    allowed: frozenset[str] | None = None,
) -> FittedModel | None:
    """The best model of ``source`` ('qemu' or 'libvirt') for a feature set.

    Every model fits once its extra features are disabled, so models are ranked, first to last:

    1. a model of ``vendor`` (the pool's majority vendor), then vendor-neutral models, then the
       other vendor's: the model's vendor string is what the guest sees, and on hosts of the
       other vendor KVM must emulate SYSENTER/SYSCALL differences, so it should be the minority;
    2. a model without TSX (``hle``/``rtm``, never in a baseline: ``VOLATILE``), so a
       ``-noTSX`` variant rather than ``Model,-hle,-rtm``;
    3. fewest edits (``+`` plus ``-`` features), as libvirt's own model choice does;
    4. most shared features (fewest ``+``): of equally distant models, the later generation;
    5. not deprecated, then the name, so the answer is deterministic.

    Models that are not migration-safe never qualify.  With ``allow_minus=False`` only models
    that are subsets of the set count (for tools that cannot disable features); with
    ``allowed`` only models with one of those names (a tool's own list, e.g. Proxmox's
    ``reported-model`` values).  A baseline never holds the ``VOLATILE`` features, so a model
    with TSX costs its ``-hle,-rtm`` edits and the ``-noTSX`` variant of its generation wins.
    """
    named = _NAMED_IN[source]
    target = feature_mask & named
    best_key = None
    best = None
    for model in guest_models.models_of(source):
        if not model.migration_safe:
            continue
        if allowed is not None and not allowed.intersection(model.names):
            continue
        plus = target & ~model.feature_mask
        minus = model.feature_mask & ~target
        if minus and not allow_minus:
            continue
        vendor_rank = 0 if model.vendor == vendor else 1 if model.vendor is None else 2
        edits = plus.bit_count() + minus.bit_count()
        # A model with TSX would only be usable as "-hle,-rtm"; its -noTSX sibling says so in
        # its name, and a later QEMU version of the model may bring TSX back.
        tsx = bool(model.feature_mask & TSX & ~target)
        key = (vendor_rank, tsx, edits, plus.bit_count(), model.deprecated, model.display_name)
        if best_key is None or key < best_key:
            best_key = key
            best = (model, plus, minus)
    if best is None:
        return None
    model, plus, minus = best
    return FittedModel(model, source, plus, minus, target, feature_mask & ~named)


# libvirt src/cpu/cpu_x86.c: virCPUx86CompareCandidateFeatureList's BASE_PENALTY.
LIBVIRT_BASE_PENALTY = 2


def _libvirt_score(plus: int, minus: int) -> tuple[int, int]:
    """(score, disabled penalty) of a candidate, as virCPUx86CompareCandidateFeatureList counts
    a guest CPU definition: each required feature costs 1, the k-th disabled one 2 + k."""
    disabled = minus.bit_count()
    penalty = disabled * LIBVIRT_BASE_PENALTY + disabled * (disabled - 1) // 2
    return plus.bit_count() + penalty, penalty


def libvirt_choice(
    feature_mask: int, vendor: str | None = None, decode_mask: int | None = None
) -> FittedModel | None:
    """The libvirt model libvirt itself names for these features (``virsh cpu-baseline``).

    libvirt src/cpu/cpu_x86.c ``x86Decode`` walks the cpu_map models newest first (index.xml
    order, reversed) and keeps a candidate only when ``x86DecodeUseCandidate`` finds it better:

    1. a model whose ``<decode guest='off'/>`` forbids it for guest CPUs never qualifies (the
       -noTSX variants of Skylake, Cascade Lake and Ice Lake, cpu64-rhel5/6);
    2. a model of another vendor than the CPU data's is skipped (a baseline of one vendor; for
       a cross-vendor pool, which libvirt refuses, ``vendor`` is the majority vendor);
    3. the feature list decides (``virCPUx86CompareCandidateFeatureList``): each required
       feature counts 1, the k-th disabled one 2 + k (BASE_PENALTY 2); the lower total wins,
       then fewer disabled; on a tie the model met first (the newer one) stays.

    The signature rule (prefer a model whose family/model matches) needs the CPU signature,
    which a baseline of several hosts does not carry; the preferred-model rule needs a model
    name the reports do not give: neither applies here.

    ``decode_mask`` is the CPU data libvirt would decode (the hosts' common features as libvirt
    sees them, nested virtualisation and non-migratable bits included; default
    ``feature_mask``); the ``+``/``-`` edits are then made against ``feature_mask``.
    """
    models = cpu_map.load()
    named = _NAMED_IN["libvirt"]
    target = feature_mask & named
    data = (feature_mask if decode_mask is None else decode_mask) & named
    best = None
    for model in sorted(guest_models.models_of("libvirt"), key=lambda m: -models[m.name].order):
        definition = models[model.name]
        if not definition.decode_guest:
            continue
        if vendor is not None and model.vendor is not None and model.vendor != vendor:
            continue
        score = _libvirt_score(data & ~model.feature_mask, model.feature_mask & ~data)
        if best is None or score < best[0]:
            best = (score, model)
    if best is None:
        return None
    model = best[1]
    plus = target & ~model.feature_mask
    minus = model.feature_mask & ~target
    return FittedModel(model, "libvirt", plus, minus, target, feature_mask & ~named)


def evc_mode_for(feature_mask: int, vendor: str) -> GuestModel | None:
    """The highest EVC mode of ``vendor`` whose features the mask offers (None if none).

    Modes form a partial order by feature subset; the highest is a maximal supported mode, and
    of several maximal ones (only possible across a fork) the one with more features.
    """
    supported = [
        mode
        for mode in guest_models.models_of("vmware-evc")
        if mode.vendor == vendor and mode.feature_mask & ~feature_mask == 0
    ]
    maximal = [
        mode
        for mode in supported
        if not any(
            other is not mode and mode.feature_mask & ~other.feature_mask == 0
            for other in supported
        )
    ]
    return max(maximal, key=lambda m: m.feature_mask.bit_count(), default=None)


# --- VMware EVC admission: can a host run a mode below its own level? ---------------------------
#
# VMware KB 1003212 ("EVC and CPU Compatibility FAQ"): a CPU that supports an EVC mode supports
# every lower mode of its vendor's sequence (AMD's "Opteron Generation 3 (no 3DNow!)" is a fork:
# Bulldozer and later descend from it, not from Generation 3 with 3DNow!).  In feature terms a
# host runs a mode when it has every feature of the mode (``evc_mode_for``), and the modes'
# features are cumulative along ``extends`` (tests/engine/test_evc_admission.py checks the data).
#
# How a host shows a guest less than it has depends on how it runs guests:
#
# * with hardware virtualisation (VT-x, AMD-V) the guest's CPUID never reaches the CPU unseen:
#   under VT-x CPUID exits to the hypervisor unconditionally (Intel SDM vol. 3C, "Instructions
#   That Cause VM Exits Unconditionally"), under AMD-V the hypervisor sets the CPUID intercept
#   (AMD APM vol. 2, "Instruction Intercepts"), and ESXi answers from the EVC baseline.  EVC asks
#   for hardware virtualisation to be enabled on every host that has it (vSphere 5.0
#   documentation, "EVC Requirements for Hosts"), so on such a host FlexMigration masking,
#   CPUID faulting or AMD override MSRs are history to show, not a condition: kind
#   ``intercepted`` (info, naming the assists the CPU also has);
# * without it (hosts older than VT-x/AMD-V, e.g. K8 rev E and earlier, which ESX 3.5 U2 and
#   4.x still ran by binary translation), guest user code executes CPUID natively, so only the
#   host's masking or override hardware can hide a feature: that is what Intel FlexMigration and
#   AMD-V Extended Migration were made for (Intel FlexMigration application note 323850,
#   section 2.3; AMD pub. #43781), and the assist rules below still decide.

EVC_ADMISSION_KINDS = (
    "vendor",  # the mode is another vendor's: masking never changes the vendor (blocker)
    "no-assist",  # no VT-x/AMD-V, features to hide, no assist at all (blocker)
    "partial",  # no VT-x/AMD-V, and the assists cannot hide some features (blocker)
    "assist-unknown",  # no VT-x/AMD-V, and only an assist of unknown confidence could (warning)
    "host-unknown",  # the report was taken inside a VM: the host cannot be seen (warning)
    "report-unknown",  # the report cannot show whether the host has a feature to hide (warning)
    "masked",  # no VT-x/AMD-V: the host hides the features with its assist (info)
    "intercepted",  # VT-x/AMD-V: the hypervisor answers CPUID with the mode (info)
)
_ADMISSION_SEVERITY = {
    "vendor": "blocker",
    "no-assist": "blocker",
    "partial": "blocker",
    "assist-unknown": "warning",
    "host-unknown": "warning",
    "report-unknown": "warning",
    "masked": "info",
    "intercepted": "info",
}
# Hypervisors that run only on hardware virtualisation: a report taken inside one of their
# guests proves the host has VT-x or AMD-V (KVM: Linux arch/x86/kvm/vmx/vmx.c and svm/svm.c
# refuse to load without it; Hyper-V: Microsoft's hypervisor pre-boot requirements, "The
# physical processors support virtualization extensions").
# These are CPUID hypervisor-vendor names (identity.HYPERVISOR_NAMES values), not engine keys.
HW_VIRT_ONLY_HYPERVISOR_VENDORS = ("KVM", "Hyper-V")


@cache
def _evc_modes(vendor: str) -> tuple[tuple[str, int], ...]:
    return tuple(
        (mode.name, mode.feature_mask)
        for mode in guest_models.models_of("vmware-evc")
        if mode.vendor == vendor
    )


@lru_cache(maxsize=1 << 16)
def evc_level(feature_mask: int, vendor: str) -> int:
    """A host's own EVC feature level: the features of every EVC mode of its vendor it supports.

    A host runs an EVC mode "below its own feature level" when this has features the mode lacks.
    Bits no EVC mode lists, or that only modes above the host's level list, are not compared:
    the derived modes never list ``pdcm`` or ``ss``, and list ``vme`` only from Ivy Bridge on, so
    comparing every host bit would make every host "hide" something at its own level."""
    level = 0
    for _, mask in _evc_modes(vendor):
        if mask & ~feature_mask == 0:
            level |= mask
    return level


def evc_modes_supported(feature_mask: int, vendor: str) -> list[GuestModel]:
    """Every EVC mode of ``vendor`` a host with these features supports, in VMware's order
    (lowest first, ``data/vmware-evc.json``); KB 1003212: with a mode come all lower ones."""
    return [
        mode
        for mode in guest_models.models_of("vmware-evc")
        if mode.vendor == vendor and mode.feature_mask & ~feature_mask == 0
    ]


@cache
def _assist_mask(leaves: tuple, all_leaves: bool) -> int:
    if all_leaves:
        return TABLE.mask_of(f for f in TABLE if f.msr is None)
    words = set(leaves)
    return TABLE.mask_of(
        f for f in TABLE if f.msr is None and (f.leaf, f.subleaf, f.register) in words
    )


def assist_masks(report: AssistReport) -> tuple[int, int]:
    """(features the available assists can hide, features unknown-confidence ones could hide)."""
    available = possible = 0
    for assist in report.assists:
        mask = _assist_mask(assist.leaves, assist.all_leaves)
        if assist.available:
            available |= mask
        else:
            possible |= mask
    return available, possible


def hardware_virtualisation(host: HostView) -> tuple[str | None, str]:
    """Whether the host has VT-x/AMD-V: (``enumerated`` | ``inferred`` | None, how we know).

    ``enumerated``: a report taken on the host shows ``vmx`` (Intel) or ``svm`` (AMD).
    ``inferred``: the report was taken inside a KVM or Hyper-V guest, and those hypervisors run
    only on hardware virtualisation.  None: the report shows neither, or cannot tell (a guest
    of another hypervisor, a name-based report that does not name the bit)."""
    identity = host.identity
    name = "AMD-V" if identity.vendor in ("AuthenticAMD", "HygonGenuine") else "VT-x"
    if identity.in_vm:
        if identity.hypervisor_vendor in HW_VIRT_ONLY_HYPERVISOR_VENDORS:
            return "inferred", (
                f"the report was taken inside a {identity.hypervisor_vendor} guest, and "
                f"{identity.hypervisor_vendor} runs only on hardware virtualisation"
            )
        return None, "the report was taken inside a VM, which hides the host's VT-x/AMD-V bits"
    if host.feature_mask & VMX_SVM:
        return "enumerated", f"its report shows {name} ({'svm' if name == 'AMD-V' else 'vmx'})"
    if host.known_absent_unknown & VMX_SVM:
        return None, f"its report cannot show whether it has {name}"
    return None, f"its report shows no {name}"


def _hw_virt_name(vendor: str) -> str:
    return "AMD-V" if vendor in ("AuthenticAMD", "HygonGenuine") else "VT-x"


@dataclass(frozen=True, slots=True)
class EvcAdmission:
    """Whether a host can run an EVC mode (the guest features ``guest_mask``).

    ``kind`` is one of ``EVC_ADMISSION_KINDS`` (None: nothing to hide, or the host lacks some of
    the mode's features, which the features axis reports); ``hide`` are the features the host
    would have to hide; ``uncovered`` those no available assist can hide.
    """

    kind: str | None
    mode: str
    hide: int = 0
    uncovered: int = 0

    @property
    def severity(self) -> str | None:
        return _ADMISSION_SEVERITY.get(self.kind)


def evc_admission(guest_mask: int, mode: str, mode_vendor: str | None, host: HostView):
    """Can ``host`` run the EVC mode ``mode`` (guest features ``guest_mask``)?

    VMware KB 1003212: a host that supports a mode supports every lower mode of its vendor, so a
    host with every feature of the mode is admitted; below its own level it hides the rest by
    intercepting CPUID when it has VT-x/AMD-V (``intercepted``, info), else only with a masking
    or override assist (the other kinds; see the comment above)."""
    vendor = host.identity.vendor
    if mode_vendor is not None and mode_vendor != vendor:
        return EvcAdmission("vendor", mode)
    unknown = host.known_absent_unknown
    if guest_mask & ~(host.feature_mask | unknown):
        return EvcAdmission(None, mode)  # the host cannot run the mode at all: features axis
    hide = evc_level(host.feature_mask, vendor) & ~guest_mask
    maybe = evc_level(host.feature_mask | unknown, vendor) & ~guest_mask & ~hide if unknown else 0
    if not hide and not maybe:
        return EvcAdmission(None, mode)
    if hardware_virtualisation(host)[0] is not None:
        return EvcAdmission("intercepted", mode, hide | maybe)
    report = host_assists(host)
    if report.host_unknown:
        return EvcAdmission("host-unknown", mode, hide | maybe, hide | maybe)
    available, possible = assist_masks(report)
    uncovered = hide & ~available
    if uncovered & ~possible:
        return EvcAdmission("partial" if available else "no-assist", mode, hide, uncovered)
    if uncovered:
        return EvcAdmission("assist-unknown", mode, hide, uncovered)
    if maybe & ~available:
        return EvcAdmission("report-unknown", mode, hide, maybe & ~available)
    return EvcAdmission("masked", mode, hide)


def _leaf_words(mask: int) -> str:
    words = sorted({(f.leaf, f.subleaf, f.register) for f in TABLE.from_mask(mask)})
    return ", ".join(
        f"0x{leaf:X}{f'.{sub}' if sub else ''} {register.upper()}" for leaf, sub, register in words
    )


def _missing_assist(vendor: str) -> str:
    if vendor == "AuthenticAMD":
        return "CPUID override MSRs (AMD-V Extended Migration)"
    if vendor == "GenuineIntel":
        return "CPUID masking or faulting (Intel FlexMigration)"
    return "CPUID masking, override or faulting assist"


def evc_mode_title(key: str) -> str:
    """``intel-penryn (Intel "Penryn" Generation)``: the key with vCenter's display name."""
    model = guest_models.find(f"vmware-evc:{key}")
    name = model.vcenter_name if model is not None else guest_models.evc_vcenter_names().get(key)
    return f"{key} ({name})" if name else key


def evc_admission_message(
    admission: EvcAdmission, host: HostView, who: str, vocabulary: str = "canonical"
) -> str:
    """One sentence for users about an admission (``who`` names the host, e.g. its label)."""
    mode = evc_mode_title(admission.mode)
    hide = ", ".join(names(admission.hide, vocabulary)) or "features"
    uncovered = ", ".join(names(admission.uncovered, vocabulary))
    report = host_assists(host)
    no_hw = f"it has no {_hw_virt_name(host.identity.vendor)} for ESXi to intercept CPUID with, "
    join = f"{no_hw}so it cannot run EVC mode {mode} below its own feature level and cannot "
    join += "join that EVC cluster"
    kind = admission.kind
    if kind == "vendor":
        return (
            f"{who} cannot run EVC mode {mode}, another vendor's mode: EVC never crosses "
            "vendors (VMware: the processors must come from the same vendor class)"
        )
    if kind == "intercepted":
        status, how = hardware_virtualisation(host)
        keys = report.available_keys
        history = (
            f"; its {', '.join(keys)} (the 2008-era masking hardware) is not needed for that"
            if keys
            else ""
        )
        return (
            f"{who} runs EVC mode {mode} below its own feature level, hiding {hide}: a CPU "
            f"that supports an EVC mode supports every lower mode of its vendor (VMware KB "
            f"1003212), and with {_hw_virt_name(host.identity.vendor)} ({status}: {how}) ESXi "
            f"answers the guest's CPUID with the mode{history}"
        )
    if kind == "no-assist":
        return (
            f"{who} has no {_missing_assist(host.identity.vendor)}, and {join} (it would have "
            f"to hide {hide})"
        )
    if kind == "partial":
        assists = ", ".join(
            f"{a.key} ({', '.join(a.leaves_text)})" for a in report.assists if a.available
        )
        words = _leaf_words(admission.uncovered)
        return (
            f"{who} has {assists}, which cannot hide {uncovered} (CPUID {words}), and {join} "
            f"(it would have to hide {hide})"
        )
    if kind == "assist-unknown":
        unknown = [a for a in report.assists if not a.available]
        caveats = "; ".join(c for a in unknown for c in a.caveats)
        return (
            f"{who} shows no {_hw_virt_name(host.identity.vendor)} and can hide {uncovered} "
            f"only with {', '.join(a.key for a in unknown)}, whose presence the report cannot "
            f"confirm ({caveats or 'confidence unknown'}): whether it can run EVC mode {mode} "
            "below its own feature level is unknown"
        )
    if kind == "host-unknown":
        return (
            f"host assists unknown: {who}'s report was taken inside a VM ({report.explanation}), "
            f"so whether the host has VT-x/AMD-V or an assist to hide {hide} and run EVC mode "
            f"{mode} cannot be seen"
        )
    if kind == "report-unknown":
        return (
            f"{who}'s report cannot show whether it has {uncovered}, which it would have to hide "
            f"to run EVC mode {mode}, nor VT-x/AMD-V, and its assists cannot hide them"
        )
    keys = ", ".join(a.key for a in report.assists if a.available)
    return (
        f"{who} has no {_hw_virt_name(host.identity.vendor)} and hides {hide} with {keys} to run "
        f"EVC mode {mode} below its own feature level"
    )


def x86_64_level(feature_mask: int) -> str | None:
    level = None
    for model in guest_models.models_of("x86-64-level"):
        if model.feature_mask & ~feature_mask:
            break
        level = model.name
    return level


def guest_phys_bits(phys_bits: int | None) -> int:
    """The guest address width a named model should use on hosts with this MAXPHYADDR."""
    if phys_bits is None:
        return QEMU_DEFAULT_PHYS_BITS
    return min(QEMU_DEFAULT_PHYS_BITS, phys_bits)


@dataclass(frozen=True)
class Baseline:
    """A pool's common guest CPU and its names (see the module docstring for the rules)."""

    hosts: int
    vendors: dict[str, int]
    feature_mask: int
    unknown_mask: int
    left_out: dict[str, int]
    phys_bits: int | None
    guest_phys_bits: int
    qemu_model: FittedModel | None
    libvirt_model: FittedModel | None
    nova_model: FittedModel | None
    evc_modes: dict[str, str | None]
    evc_mode: str | None
    x86_64_level: str | None
    notes: tuple[str, ...] = field(default=())
    # The QEMU model Proxmox VE can report (its reported-model list), None if none fits.
    proxmox_model: FittedModel | None = None
    # Per vendor key: the hosts found by ``find_evc_blockers`` (label, host, admission or None),
    # turned into ``evc_blockers`` entries only when asked for (messages cost more than finding).
    evc_found: dict[str, tuple] = field(default_factory=dict, repr=False)

    @cached_property
    def evc_blockers(self) -> dict[str, list[dict]]:
        """Per vendor key, the hosts that cannot join the vendor's EVC mode, or that make the
        pool have none: ``{"host", "kind", "mode", "features", "reason"}`` each."""
        return {
            vendor: [evc_blocker_entry(*found, self.evc_modes.get(vendor)) for found in entries]
            for vendor, entries in self.evc_found.items()
        }

    @cached_property
    def qemu_spec(self) -> str:
        """The guest CPU string for QEMU/KVM: the fitted model, plus phys-bits when needed and,
        for a cross-vendor pool, the pinned vendor (``guest_vendor``), so a ``baseline`` guest,
        a suggestion and the ``-cpu`` export are one and the same configuration."""
        spec = self.qemu_model.spec
        if self.guest_phys_bits != QEMU_DEFAULT_PHYS_BITS:
            spec += f",phys-bits={self.guest_phys_bits}"
        if self.cross_vendor and self.guest_vendor:
            spec += f",vendor={self.guest_vendor}"
        return spec

    @cached_property
    def evc_unsupported(self) -> dict[str, str]:
        """Per vendor key without an EVC mode: the hosts that support none (for messages)."""
        named = {}
        for vendor, entries in self.evc_found.items():
            hosts = [label for label, _, admission in entries if admission is None]
            if hosts:
                more = f" and {len(hosts) - 3} more" if len(hosts) > 3 else ""
                named[vendor] = ", ".join(hosts[:3]) + more
        return named

    @property
    def majority_vendor(self) -> str | None:
        return _majority(self.vendors)

    @property
    def cross_vendor(self) -> bool:
        return len(self.vendors) > 1

    @property
    def guest_vendor(self) -> str | None:
        """The vendor string every export pins for a cross-vendor pool: the fitted QEMU model's
        vendor, else the pool's majority vendor.

        Under KVM a named model gets the host's vendor unless ``vendor=`` pins it (QEMU
        target/i386/cpu.c: x86_cpu_load_model copies the host's vendor for KVM when the user
        set none), so in a cross-vendor pool an unpinned guest would see its vendor change when
        it migrates.  The model's vendor is pinned because its family/model/model-id belong to
        that vendor; ``fit`` ranks models of the majority vendor first, so it is also the
        vendor fewer hosts must present as a foreign one (KVM then emulates SYSENTER/SYSCALL
        for it on the others)."""
        model = self.qemu_model.model if self.qemu_model else None
        return (model.vendor if model else None) or self.majority_vendor

    @property
    def evc_vcenter_names(self) -> dict[str, str | None]:
        names = guest_models.evc_vcenter_names()
        return {vendor: names.get(key) if key else None for vendor, key in self.evc_modes.items()}

    def features(self, vocabulary: str = "canonical") -> list[str]:
        return names(self.feature_mask, vocabulary)

    def to_dict(self, vocabulary: str = "canonical") -> dict:
        return {
            "hosts": self.hosts,
            "features": self.features(vocabulary),
            "unknown": names(self.unknown_mask, vocabulary),
            "left_out": {why: names(mask, vocabulary) for why, mask in self.left_out.items()},
            "vendors": dict(self.vendors),
            "phys_bits": self.phys_bits,
            "guest_phys_bits": self.guest_phys_bits,
            "qemu_model": self.qemu_model.to_dict() if self.qemu_model else None,
            "libvirt_model": self.libvirt_model.to_dict() if self.libvirt_model else None,
            "nova_model": self.nova_model.to_dict() if self.nova_model else None,
            "proxmox_model": self.proxmox_model.to_dict() if self.proxmox_model else None,
            "guest_vendor": self.guest_vendor,
            "evc_mode": self.evc_mode,
            "evc_modes": dict(self.evc_modes),
            "evc_vcenter_names": self.evc_vcenter_names,
            "x86_64_level": self.x86_64_level,
            "evc_blockers": {
                vendor: [dict(entry) for entry in entries]
                for vendor, entries in self.evc_blockers.items()
            },
            "notes": list(self.notes),
        }


def _majority(vendors: dict[str, int]) -> str | None:
    # Ties go to the alphabetically first vendor string, only so the answer is deterministic.
    return min(vendors, key=lambda v: (-vendors[v], v), default=None)


def compute(reports: Iterable[HostView | DecodedDump]) -> Baseline:
    """The baseline of a pool of host reports (at least one)."""
    hosts = [host_view(report) for report in reports]
    if not hosts:
        raise ValueError("a pool baseline needs at least one host")
    common = -1
    seen_or_unknown = -1
    vendor_masks: dict[str, int] = {}
    # Per vendor, the features every host shows present or whose report cannot show them: EVC
    # support follows the CPU (VMware KB 1003212), and a report that cannot show a bit (a raw
    # dump without CPUID 0xD.1, a name list) must not cost the pool its mode; a note says so.
    vendor_maybe: dict[str, int] = {}
    mitigations_any = 0
    phys = [h.identity.phys_bits for h in hosts]
    for host in hosts:
        common &= host.feature_mask
        seen_or_unknown &= host.feature_mask | host.known_absent_unknown
        vendor = host.identity.vendor
        vendor_masks[vendor] = vendor_masks.get(vendor, -1) & host.feature_mask
        vendor_maybe[vendor] = vendor_maybe.get(vendor, -1) & (
            host.feature_mask | host.known_absent_unknown
        )
        mitigations_any |= host.feature_mask & MITIGATIONS
    common &= TABLE.cpu_feature_mask
    feature_mask = common & BASELINE_UNIVERSE & ~VOLATILE
    vendors = dict(sorted(Counter(h.identity.vendor for h in hosts).items()))
    majority = _majority(vendors)
    known_phys = [bits for bits in phys if bits is not None]
    phys_bits = min(known_phys) if known_phys else None
    notes = []
    if len(known_phys) < len(phys):
        notes.append(
            f"{len(phys) - len(known_phys)} report(s) do not give the physical address width; "
            f"the guest width assumes {guest_phys_bits(phys_bits)} bits"
        )
    lacking = mitigations_any & ~common
    if lacking:
        missing_on = [
            h.label or f"host {i + 1}"
            for i, h in enumerate(hosts)
            if mitigations_any & ~h.feature_mask
        ]
        notes.append(
            "mitigations some hosts have and others lack are not in the baseline "
            f"({', '.join(names(lacking))}); hosts lacking them: {', '.join(missing_on)} "
            "(a microcode update usually adds them)"
        )
    volatile = common & BASELINE_UNIVERSE & VOLATILE
    if volatile:
        notes.append(volatile_note(volatile))
    unknown = seen_or_unknown & ~common & BASELINE_UNIVERSE & ~VOLATILE
    if unknown:
        notes.append(
            "name-based reports cannot show these features, so they are not in the baseline "
            f"although no host is known to lack them: {', '.join(names(unknown))}"
        )
    evc_modes = {}
    blockers = {}
    for vendor, mask in vendor_masks.items():
        mode = evc_mode_for(vendor_maybe[vendor] & TABLE.cpu_feature_mask, vendor)
        key = VENDOR_KEYS.get(vendor, vendor)
        evc_modes[key] = mode.name if mode else None
        members = [(i, h) for i, h in enumerate(hosts) if h.identity.vendor == vendor]
        unshown = mode.feature_mask & ~mask if mode else 0
        if unshown:
            cannot = [h.label or f"host {i + 1}" for i, h in members if unshown & ~h.feature_mask]
            notes.append(
                f"EVC mode {evc_mode_title(mode.name)} assumes these hosts have "
                f"{', '.join(names(unshown))}, which their reports cannot show: "
                f"{', '.join(cannot)} (the mode follows the CPU generation, VMware KB 1003212; "
                "a raw dump taken on the host would show them)"
            )
        blockers[key], undecided = find_evc_blockers(mode, vendor, members)
        if undecided:
            notes.append(
                f"whether these hosts can be masked down to EVC mode {mode.name} is unknown "
                f"(host assists unknown): {', '.join(undecided)}"
            )
    single = len(vendor_masks) == 1
    return Baseline(
        hosts=len(hosts),
        vendors=vendors,
        feature_mask=feature_mask,
        unknown_mask=unknown,
        left_out={
            "not migratable": common & NON_MIGRATABLE,
            "not virtualised": common & NOT_VIRTUALISED & ~NON_MIGRATABLE,
            "nested virtualisation": common & NESTED,
            "host-only": common & HOST_ONLY,
            "volatile": common & BASELINE_UNIVERSE & VOLATILE,
        },
        phys_bits=phys_bits,
        guest_phys_bits=guest_phys_bits(phys_bits),
        qemu_model=fit(feature_mask, "qemu", vendor=majority),
        # libvirt's own choice for one vendor; libvirt refuses mixed vendors, so a
        # cross-vendor pool keeps the ranking of ``fit`` (the majority vendor's models first).
        libvirt_model=(
            libvirt_choice(feature_mask, majority, common & GUEST_VISIBLE)
            if single
            else fit(feature_mask, "libvirt", vendor=majority)
        ),
        nova_model=fit(feature_mask, "libvirt", vendor=majority, allow_minus=False),
        proxmox_model=fit(feature_mask, "qemu", vendor=majority, allowed=proxmox_reported()),
        evc_modes=dict(sorted(evc_modes.items())),
        evc_mode=next(iter(evc_modes.values())) if single else None,
        x86_64_level=x86_64_level(feature_mask),
        notes=tuple(notes),
        evc_found=dict(sorted(blockers.items())),
    )


def find_evc_blockers(
    mode: GuestModel | None, vendor: str, members: list[tuple[int, HostView]]
) -> tuple[tuple, list[str]]:
    """The hosts of one vendor that keep the pool from running an EVC mode, as (label, host,
    admission) — admission None for a host that supports no mode — and the labels of the hosts
    whose admission is unknown (warnings).

    With a mode: the hosts that would have to hide features below their own level and have no
    assist that can (VMware EVC needs one), or whose assists cannot hide every such feature.
    Without one: the hosts that support no EVC mode of their vendor at all, so none is common.
    """
    blocked = []
    unknown: list[str] = []
    cache: dict[tuple, EvcAdmission] = {}
    for index, host in members:
        label = host.label or f"host {index + 1}"
        if mode is None:
            if not evc_level(host.feature_mask, vendor) and _lowest_evc_mode(vendor):
                blocked.append((label, host, None))  # it is why the pool has no mode
            continue
        key = (host.feature_mask, host.known_absent_unknown, id(host.assists), host.identity)
        admission = cache.get(key)
        if admission is None:
            admission = cache[key] = evc_admission(mode.feature_mask, mode.name, vendor, host)
        if admission.severity == "blocker":
            blocked.append((label, host, admission))
        elif admission.severity == "warning":
            unknown.append(label)
    return tuple(blocked), unknown


def evc_blocker_entry(
    label: str, host: HostView, admission: EvcAdmission | None, mode: str | None
) -> dict:
    """One ``Baseline.evc_blockers`` entry."""
    if admission is not None:
        return {
            "host": label,
            "kind": admission.kind,
            "mode": mode,
            "features": names(admission.uncovered or admission.hide),
            "reason": evc_admission_message(admission, host, host_name(host, label)),
        }
    vendor = host.identity.vendor
    lowest = _lowest_evc_mode(vendor)
    lacks = names(lowest.feature_mask & ~host.feature_mask)
    available, _ = assist_masks(host_assists(host))
    also = "" if available else f"; it has no {_missing_assist(vendor)} either"
    return {
        "host": label,
        "kind": "features",
        "mode": None,
        "features": lacks,
        "reason": (
            f"{host_name(host, label)} supports no {vendor_name(vendor)} EVC "
            f"mode: it lacks {', '.join(lacks)} of {lowest.name}, the lowest one, so the pool "
            f"has no common EVC mode{also}"
        ),
    }


@cache
def _lowest_evc_mode(vendor: str) -> GuestModel | None:
    modes = [m for m in guest_models.models_of("vmware-evc") if m.vendor == vendor]
    return min(modes, key=lambda m: m.feature_mask.bit_count(), default=None)


def volatile_note(mask: int) -> str:
    """Why the baseline leaves out the volatile features every host has (``VOLATILE``)."""
    features = names(mask)
    parts = []
    if mask & TABLE.mask_of(TABLE.by_name[n] for n in ("hle", "rtm")):
        parts.append(
            "TSX (hle, rtm) disappears from a host with a microcode update (Intel's TAA "
            "mitigation) or Linux's tsx=off default, and a guest that was given it cannot "
            "migrate to that host any more"
        )
    if mask & TABLE.by_name["mpx"].mask:
        parts.append("MPX is gone from Ice Lake and later CPUs and from Linux 5.6 on")
    return (
        f"every host has {', '.join(features)}, but the baseline and its fitted models leave "
        f"them out: {'; '.join(parts)} (the fitted models are -noTSX variants where one exists;"
        " add them back only if every host will keep them)"
    )


@cache
def proxmox_reported() -> frozenset[str]:
    """The QEMU models Proxmox VE accepts as a custom model's ``reported-model`` and pins the
    vendor of (PVE/QemuServer/CPUConfig.pm ``$cpu_vendor_list``, non-generic entries)."""
    models = guest_models.proxmox_data()["reported_models"]
    return frozenset(name for name, vendor in models.items() if vendor)


# --- Per-host facts of a stored report ----------------------------------------------------------
#
# A stored report keeps its identity and feature masks in columns; everything else the engine
# reads of a host goes into one JSON object, so that a stored host gets the verdict the same dump
# gets inline (tests/cpus/test_stored_equals_inline.py).

HOST_FACTS_VERSION = 1


def host_facts(decoded: DecodedDump) -> dict:
    """What the engine reads of a decoded report beyond its identity columns and masks: its
    migration assists (from the raw leaves, e.g. Genoa's enumerated CpuidUserDis) and the
    highest CPUID leaves (which decide the AMD leaf-7 override), and the untrimmed brand."""
    identity = decoded.identity
    return {
        "version": HOST_FACTS_VERSION,
        "assists": assists_of(decoded).to_dict(),
        "max_basic_leaf": identity.max_basic_leaf,
        "max_extended_leaf": identity.max_extended_leaf,
        "brand_raw": identity.brand_raw,
    }


def with_host_facts(view: HostView, facts: dict | None) -> HostView:
    """``view`` (built from stored columns) completed with its stored ``host_facts``; without
    facts (reports stored before them) the assists are derived from the identity alone."""
    if not facts:
        return view
    identity = replace(
        view.identity,
        max_basic_leaf=facts.get("max_basic_leaf"),
        max_extended_leaf=facts.get("max_extended_leaf"),
        brand_raw=facts.get("brand_raw", view.identity.brand_raw),
    )
    assists = facts.get("assists")
    return replace(
        view,
        identity=identity,
        assists=AssistReport.from_dict(assists) if assists else None,
    )
