"""Hardware migration assists: which CPUID masking, override or faulting mechanism a host CPU has.

What the 2008 story calls Intel FlexMigration and AMD-V Extended Migration, per CPU:

``intel-mask-v1``         MSR 0x478 masks CPUID.1 ECX/EDX (Penryn stepping >= 4, Dunnington)
``intel-mask-v2``         MSRs 0x130-0x131 mask CPUID.1 and 0x80000001 (Nehalem, Westmere)
``intel-mask-v3``         MSRs 0x132-0x134 add CPUID.(0xD,1).EAX (Sandy Bridge)
``intel-cpuid-faulting``  CPUID at CPL > 0 raises #GP, so the hypervisor reports any values (Ivy
                          Bridge and later; enumerated by MSR_PLATFORM_INFO bit 31, never by CPUID)
``amd-cpuid-override``    MSRs C001_1004/5 (+ C001_1002 for leaf 7, C001_1003 for leaf 6 on family
                          15h) override CPUID (K8 rev E and later, family 10h and later, not 11h)
``amd-cpuid-user-dis``    HWCR bit 35 makes CPUID at CPL > 0 fault (enumerated by CPUID
                          0x80000021 EAX[17]; new in Genoa, family 19h)

``migration_assists(identity, cpuid)`` answers for one host; ``assists_of(decoded)`` for a decoded
report.  Every mechanism carries a confidence: ``enumerated`` (read from a CPUID bit of the dump),
``inferred`` (from family/model/stepping, following the generation lists Intel's and AMD's
engineers wrote into Xen), or ``unknown`` (the report cannot tell).  A dump taken inside a VM says
nothing about the host (``host_unknown``).  None of these mechanisms can change CPUID leaf 0, the
vendor string: they help migrations between generations of one vendor, never across vendors.

Also here: what Hyper-V processor compatibility mode hides per vendor (``hyperv_*``, data in
``data/assists.json``), and why KVM needs none of these assists (``KVM_CPUID_POLICY``, the
message of the KVM policy's ``kvm_cpuid_virtualised`` rule; what each hypervisor does is in
``policies/``).  docs/assists.md gives every rule with its source.

The facts (each mechanism's citation, the Intel models of each masking generation, the small
cores, KVM's sentence, the Hyper-V lists) are data in ``data/assists.json``, read through
``facts``; the rules that apply them are here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from . import facts
from .facts import hex_int
from .result import DecodedDump, Identity, Registers
from .table import TABLE

DATA = facts.path("assists.json")
_FACTS = facts.load(DATA.name)

CONFIDENCES = ("enumerated", "inferred", "unknown")
MECHANISMS = (
    "intel-mask-v1",
    "intel-mask-v2",
    "intel-mask-v3",
    "intel-cpuid-faulting",
    "amd-cpuid-override",
    "amd-cpuid-user-dis",
)

IN_VM_EXPLANATION = "taken inside a VM: the host's assists cannot be seen"

# Citation strings; docs/assists.md expands them.
SOURCES: dict[str, str] = dict(_FACTS["mechanism_sources"])

_MASK_EXPLANATION = (
    "masking MSRs AND the real CPUID output, so a host can show an older CPU's feature leaves; "
    "they can only hide bits, never the vendor"
)
_FAULT_EXPLANATION = (
    "CPUID outside ring 0 faults to the hypervisor, which can report any values it likes"
)
FAULTING_CAVEAT = (
    "likely, not enumerated: Intel CPUID faulting is enumerated only by MSR_PLATFORM_INFO (0xCE) "
    "bit 31, which no CPUID dump carries; inferred from the model (Ivy Bridge, 06_3A, and later)"
)
USER_DIS_UNKNOWN_CAVEAT = (
    "the report has no raw CPUID 0x80000021 leaf, so CpuidUserDis (EAX bit 17) cannot be read"
)

# (leaf, subleaf, register) words each mechanism can hide.
_LEAF1 = ((0x1, 0, "ecx"), (0x1, 0, "edx"))
_EXT1 = ((0x80000001, 0, "ecx"), (0x80000001, 0, "edx"))
_XSAVE_SUB1 = ((0xD, 1, "eax"),)
_LEAF7 = ((0x7, 0, "eax"), (0x7, 0, "ebx"))
_LEAF6 = ((0x6, 0, "ecx"),)

# Intel family 6 models of each masking generation (Xen intel.c; names from Linux intel-family.h):
# model -> names, the minimum stepping where one applies (Xen 79961b311e for 0x17; the signature
# rule CPUID.1.EAX > 0x000106A2 for 0x1A), and its wording for a report without a stepping.
_MASKING = {row["mechanism"]: row["models"] for row in _FACTS["intel_masking"]}


def _generation(mechanism: str, field: str) -> dict[int, str | int]:
    return {hex_int(row["model"]): row[field] for row in _MASKING[mechanism] if field in row}


V1_MODELS = _generation("intel-mask-v1", "names")
V1_MIN_STEPPING = _generation("intel-mask-v1", "min_stepping")
V2_MODELS = _generation("intel-mask-v2", "names")
V2_MIN_STEPPING = _generation("intel-mask-v2", "min_stepping")
V3_MODELS = _generation("intel-mask-v3", "names")
STEPPING_RULES = {
    **_generation("intel-mask-v1", "stepping_rule"),
    **_generation("intel-mask-v2", "stepping_rule"),
}
MODEL_CAVEATS = _generation("intel-mask-v3", "caveat")
# Linux intel-family.h INTEL_FAM6_IVYBRIDGE; every later big core has a higher model number.
IVY_BRIDGE_MODEL = 0x3A
# Small-core (Atom) and Xeon Phi models: no source says whether they fault on CPUID, so faulting
# is "unknown" there rather than inferred (the list and its source: data/assists.json).
INTEL_SMALL_CORE_MODELS = frozenset(
    hex_int(model) for model in _FACTS["intel_small_cores"]["models"]
)
NETBURST_FAMILY = 0xF
AMD_K8_FAMILY = 0xF
# Xen amd.c: "FamFh RevD and earlier had the feature MSRs in different locations".
AMD_K8_REV_E_MODEL = 0x20
AMD_FAMILY_11H = 0x11  # Xen amd.c: "Fam11h doesn't support masking at all"
AMD_GENOA_FAMILY = 0x19  # CpuidUserDis is new in Genoa (Zen 4, family 19h)
USER_DIS_LEAF = 0x80000021
USER_DIS_BIT = 17


@dataclass(frozen=True, slots=True)
class Msr:
    """One model-specific register a mechanism uses."""

    index: int
    name: str
    role: str

    def to_dict(self) -> dict:
        return {"index": f"0x{self.index:X}", "name": self.name, "role": self.role}


@dataclass(frozen=True, slots=True)
class Assist:
    """One migration assist of a host CPU.

    ``leaves`` are the CPUID words (leaf, subleaf, register) it can hide; ``all_leaves`` is True for
    faulting, where the hypervisor answers every CPUID (leaf 0 included) with values of its choice.
    """

    key: str
    title: str
    confidence: str
    leaves: tuple[tuple[int, int, str], ...]
    msrs: tuple[Msr, ...]
    explanation: str
    source: str
    all_leaves: bool = False
    caveats: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        """True when the CPU has it (enumerated or inferred), False when we cannot tell."""
        return self.confidence != "unknown"

    @property
    def hideable_mask(self) -> int:
        """The TABLE features (CPUID bits) this mechanism can hide from a guest."""
        if self.all_leaves:
            return TABLE.mask_of(f for f in TABLE if f.msr is None)
        words = set(self.leaves)
        return TABLE.mask_of(
            f for f in TABLE if f.msr is None and (f.leaf, f.subleaf, f.register) in words
        )

    @property
    def leaves_text(self) -> list[str]:
        if self.all_leaves:
            return ["all leaves"]
        return [
            f"0x{leaf:X}.{subleaf}:{register.upper()}" for leaf, subleaf, register in self.leaves
        ]

    @classmethod
    def from_dict(cls, data: dict) -> Assist:
        """The inverse of ``to_dict`` (stored reports keep their assists as JSON)."""
        all_leaves = data["leaves"] == ["all leaves"]
        leaves = []
        if not all_leaves:
            for text in data["leaves"]:
                word, register = text.split(":")
                leaf, subleaf = word.split(".")
                leaves.append((int(leaf, 16), int(subleaf), register.lower()))
        return cls(
            key=data["key"],
            title=data["title"],
            confidence=data["confidence"],
            leaves=tuple(leaves),
            msrs=tuple(
                Msr(int(msr["index"], 16), msr["name"], msr["role"]) for msr in data["msrs"]
            ),
            explanation=data["explanation"],
            source=data["source"],
            all_leaves=all_leaves,
            caveats=tuple(data["caveats"]),
        )

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "confidence": self.confidence,
            "leaves": self.leaves_text,
            "msrs": [msr.to_dict() for msr in self.msrs],
            "explanation": self.explanation,
            "caveats": list(self.caveats),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class AssistReport:
    """The migration assists of one host.

    ``assists`` lists every mechanism the CPU has or may have (``confidence`` says which); it is
    empty when it has none, and when ``host_unknown`` (the report was taken inside a VM).
    """

    vendor: str
    assists: tuple[Assist, ...]
    host_unknown: bool = False
    explanation: str = ""

    @property
    def keys(self) -> list[str]:
        """Keys of every listed mechanism, ``unknown`` ones included."""
        return [assist.key for assist in self.assists]

    @property
    def available_keys(self) -> list[str]:
        """Keys of the mechanisms the CPU has (enumerated or inferred)."""
        return [assist.key for assist in self.assists if assist.available]

    def get(self, key: str) -> Assist | None:
        return next((assist for assist in self.assists if assist.key == key), None)

    @classmethod
    def from_dict(cls, data: dict) -> AssistReport:
        """The inverse of ``to_dict``: ``AssistReport.from_dict(r.to_dict()) == r``."""
        return cls(
            vendor=data["vendor"],
            assists=tuple(Assist.from_dict(assist) for assist in data["assists"]),
            host_unknown=data["host_unknown"],
            explanation=data["explanation"],
        )

    def to_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "host_unknown": self.host_unknown,
            "explanation": self.explanation,
            "assists": [assist.to_dict() for assist in self.assists],
        }


def assists_of(decoded: DecodedDump) -> AssistReport:
    """The migration assists of the host a decoded report describes."""
    return migration_assists(decoded.identity, decoded.cpuid)


def migration_assists(
    identity: Identity, cpuid: Mapping[tuple[int, int], Registers] | None = None
) -> AssistReport:
    """The migration assists of a host CPU.

    ``cpuid`` is the raw leaves (``DecodedDump.cpuid``); None or empty for name-based reports, which
    can still be judged by family/model/stepping but cannot enumerate CPUID bits.
    """
    cpuid = cpuid or {}
    if identity.in_vm:
        return AssistReport(identity.vendor, (), host_unknown=True, explanation=IN_VM_EXPLANATION)
    if identity.vendor_key == "intel":
        assists = _intel(identity)
    elif identity.vendor_key == "amd":
        assists = _amd(identity, cpuid)
    else:
        return AssistReport(
            identity.vendor,
            (),
            explanation=f"no migration-assist data for vendor {identity.vendor!r}",
        )
    if identity.family is None:
        explanation = "the report gives no CPU family: no generation rule can be applied"
    elif not assists:
        explanation = "no CPUID masking, override or faulting mechanism is known for this CPU"
    else:
        explanation = "; ".join(f"{assist.key} ({assist.confidence})" for assist in assists)
    return AssistReport(identity.vendor, tuple(assists), explanation=explanation)


def _stepping_check(identity: Identity, minimum: int | None) -> str | None:
    """``inferred`` if the stepping passes, None if it fails, ``unknown`` if not reported."""
    if minimum is None:
        return "inferred"
    if identity.stepping is None:
        return "unknown"
    return "inferred" if identity.stepping >= minimum else None


def _intel(identity: Identity) -> list[Assist]:
    family, model = identity.family, identity.model
    if family is None or family == NETBURST_FAMILY:
        # NetBurst has no masking MSRs, and Xen never probes faulting there (spurious #GP).
        return []
    if family > NETBURST_FAMILY:
        # Extended Intel families (display 18, 19, ...) are all far newer than Ivy Bridge.
        return [_intel_faulting("inferred", f"family 0x{family:X}, newer than Ivy Bridge")]
    if family != 6 or model is None:
        return []
    assists = []
    generation = _intel_masking(identity)
    if generation is not None:
        assists.append(generation)
    if model in INTEL_SMALL_CORE_MODELS:
        assists.append(
            _intel_faulting(
                "unknown",
                f"model 0x{model:02X} is an Atom or Xeon Phi core: no source says whether it "
                "faults on CPUID (MSR_PLATFORM_INFO bit 31 decides)",
            )
        )
    elif model >= IVY_BRIDGE_MODEL:
        assists.append(_intel_faulting("inferred", FAULTING_CAVEAT))
    return assists


def _intel_masking(identity: Identity) -> Assist | None:
    model = identity.model
    if model in V1_MODELS:
        confidence = _stepping_check(identity, V1_MIN_STEPPING.get(model))
        if confidence is None:
            return None
        return Assist(
            key="intel-mask-v1",
            title=f"Intel FlexMigration CPUID masking v1 ({V1_MODELS[model]})",
            confidence=confidence,
            leaves=_LEAF1,
            msrs=(Msr(0x478, "MSR_INTEL_MASK_V1_CPUID1", "CPUID.1: low 32 bits ECX, high EDX"),),
            explanation=f"one {_MASK_EXPLANATION}; v1 covers leaf 1 only",
            source=SOURCES["intel-mask-v1"],
            caveats=_stepping_caveat(confidence, STEPPING_RULES.get(model, "")),
        )
    if model in V2_MODELS:
        confidence = _stepping_check(identity, V2_MIN_STEPPING.get(model))
        if confidence is None:
            return None
        return Assist(
            key="intel-mask-v2",
            title=f"Intel FlexMigration CPUID masking v2 ({V2_MODELS[model]})",
            confidence=confidence,
            leaves=_LEAF1 + _EXT1,
            msrs=(
                Msr(0x130, "MSR_INTEL_MASK_V2_CPUID1", "CPUID.1 ECX/EDX"),
                Msr(0x131, "MSR_INTEL_MASK_V2_CPUID80000001", "CPUID.80000001 ECX/EDX"),
            ),
            explanation=f"two {_MASK_EXPLANATION}; v2 covers leaves 1 and 0x80000001",
            source=SOURCES["intel-mask-v2"],
            caveats=_stepping_caveat(confidence, STEPPING_RULES.get(model, "")),
        )
    if model in V3_MODELS:
        return Assist(
            key="intel-mask-v3",
            title=f"Intel FlexMigration CPUID masking v3 ({V3_MODELS[model]})",
            confidence="inferred",
            leaves=_LEAF1 + _EXT1 + _XSAVE_SUB1,
            msrs=(
                Msr(0x132, "MSR_INTEL_MASK_V3_CPUID1", "CPUID.1 ECX/EDX"),
                Msr(0x133, "MSR_INTEL_MASK_V3_CPUID80000001", "CPUID.80000001 ECX/EDX"),
                Msr(0x134, "MSR_INTEL_MASK_V3_CPUIDD_01", "CPUID.(0xD,1).EAX (XSAVE features)"),
            ),
            explanation=f"three {_MASK_EXPLANATION}; v3 adds the XSAVE sub-leaf 0xD.1",
            source=SOURCES["intel-mask-v3"],
            caveats=(MODEL_CAVEATS[model],) if model in MODEL_CAVEATS else (),
        )
    return None


def _stepping_caveat(confidence: str, rule: str) -> tuple[str, ...]:
    if confidence == "unknown":
        return (f"the report gives no stepping; this generation needs {rule}",)
    return ()


def _intel_faulting(confidence: str, caveat: str) -> Assist:
    return Assist(
        key="intel-cpuid-faulting",
        title="Intel CPUID faulting (FlexMigration)",
        confidence=confidence,
        leaves=(),
        all_leaves=True,
        msrs=(
            Msr(0xCE, "MSR_PLATFORM_INFO", "bit 31 enumerates CPUID faulting"),
            Msr(0x140, "MSR_MISC_FEATURES_ENABLES", "bit 0 enables it"),
        ),
        explanation=f"{_FAULT_EXPLANATION}; it cannot change how instructions behave",
        source=SOURCES["intel-cpuid-faulting"],
        caveats=(caveat,),
    )


def _amd(identity: Identity, cpuid: Mapping[tuple[int, int], Registers]) -> list[Assist]:
    if identity.family is None:
        return []
    found = (_amd_user_dis(identity, cpuid), _amd_override(identity, cpuid))
    return [assist for assist in found if assist is not None]


def _amd_user_dis(identity: Identity, cpuid: Mapping[tuple[int, int], Registers]) -> Assist | None:
    row = cpuid.get((USER_DIS_LEAF, 0))
    caveats: tuple[str, ...] = ()
    if row is not None:
        if not row[0] >> USER_DIS_BIT & 1:
            return None
        confidence = "enumerated"
    elif cpuid and (identity.max_extended_leaf or 0) < USER_DIS_LEAF:
        return None  # a raw dump of a CPU without the leaf: the bit reads 0
    elif identity.family < AMD_GENOA_FAMILY:
        return None  # CpuidUserDis is new in family 19h (Genoa)
    else:
        confidence = "unknown"
        caveats = (USER_DIS_UNKNOWN_CAVEAT,)
    return Assist(
        key="amd-cpuid-user-dis",
        title="AMD CpuidUserDis (CPUID faulting)",
        confidence=confidence,
        leaves=(),
        all_leaves=True,
        msrs=(Msr(0xC0010015, "HWCR", "bit 35 (CpuidUserDis) makes CPUID at CPL > 0 fault"),),
        explanation=f"{_FAULT_EXPLANATION}; enumerated by CPUID 0x80000021 EAX bit 17",
        source=SOURCES["amd-cpuid-user-dis"],
        caveats=caveats,
    )


def _amd_override(identity: Identity, cpuid: Mapping[tuple[int, int], Registers]) -> Assist | None:
    family, model = identity.family, identity.model
    if family < AMD_K8_FAMILY or family == AMD_FAMILY_11H:
        return None
    confidence = "inferred"
    caveats = []
    if family == AMD_K8_FAMILY:
        if model is None:
            confidence = "unknown"
            caveats.append("the report gives no model: K8 needs model >= 0x20 (revision E)")
        elif model < AMD_K8_REV_E_MODEL:
            return None  # rev D and earlier: MSRs elsewhere (erratum #110), unusable
        caveats.append("K8: every RDMSR/WRMSR of these MSRs needs the password EDI = 0x9C5A203A")
    leaves = _LEAF1 + _EXT1
    msrs = [
        Msr(0xC0011004, "MSR_K8_FEATURE_MASK", "CPUID.1: low 32 bits EDX, high ECX"),
        Msr(0xC0011005, "MSR_K8_EXT_FEATURE_MASK", "CPUID.80000001: low 32 bits EDX, high ECX"),
    ]
    if family >= 0x15 and (identity.max_basic_leaf is None or identity.max_basic_leaf >= 7):
        leaves += _LEAF7
        msrs.append(
            Msr(0xC0011002, "MSR_AMD_L7S0_FEATURE_MASK", "CPUID.(7,0): low 32 bits EBX, high EAX")
        )
    if family == 0x15 and ((6, 0) not in cpuid or cpuid[(6, 0)][2] != 0):
        leaves += _LEAF6
        msrs.append(Msr(0xC0011003, "MSR_AMD_THRM_FEATURE_MASK", "CPUID.6.ECX in the low 32 bits"))
    if family >= 0x15:
        caveats.append(
            "Xen: 'not fully effective on Family 15h processors or later'; Xen prefers CPUID "
            "faulting (CpuidUserDis) where the CPU has it"
        )
    caveats.append(
        "overrides, not masks: setting a bit the CPU lacks advertises a feature that will not work"
    )
    return Assist(
        key="amd-cpuid-override",
        title="AMD-V Extended Migration CPUID override MSRs",
        confidence=confidence,
        leaves=leaves,
        msrs=tuple(msrs),
        explanation=(
            "override MSRs replace the CPUID feature leaves, so a host can show an older "
            "revision's features; they never change the vendor"
        ),
        source=SOURCES["amd-cpuid-override"],
        caveats=tuple(caveats),
    )


# --- Hyper-V processor compatibility mode --------------------------------------------------------

HYPERV_MODES = ("2008r2", "standard", "dynamic")


@dataclass(frozen=True, slots=True)
class HiddenFeature:
    """One entry of a documented hidden-feature list, mapped to TABLE features."""

    documented_as: str
    features: tuple[str, ...]
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "documented_as": self.documented_as,
            "features": list(self.features),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class HyperVCompatibility:
    """What one Hyper-V processor compatibility mode hides on one vendor's CPUs.

    ``complete`` is False when the documented list is only a lower bound (``standard``); for
    ``dynamic`` there is no fixed list at all: see ``hyperv_dynamic_visible_mask``.
    """

    mode: str
    vendor: str
    title: str
    hidden: tuple[HiddenFeature, ...]
    complete: bool
    sources: tuple[str, ...]
    note: str

    @property
    def hidden_names(self) -> list[str]:
        return sorted({name for entry in self.hidden for name in entry.features})

    @property
    def hidden_mask(self) -> int:
        """The TABLE features this mode hides (a mask of HIDDEN features)."""
        return TABLE.mask_of(TABLE.by_name[name] for name in self.hidden_names)

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "vendor": self.vendor,
            "title": self.title,
            "complete": self.complete,
            "hidden": [entry.to_dict() for entry in self.hidden],
            "hidden_features": self.hidden_names,
            "sources": list(self.sources),
            "note": self.note,
        }


def _vendor_key(vendor: str) -> str:
    key = {"genuineintel": "intel", "authenticamd": "amd"}.get(vendor.lower(), vendor.lower())
    if key not in ("intel", "amd"):
        raise ValueError(f"Hyper-V compatibility data covers Intel and AMD only, not {vendor!r}")
    return key


@cache
def hyperv_compatibility(vendor: str, mode: str = "2008r2") -> HyperVCompatibility:
    """The documented features a Hyper-V processor compatibility mode hides on a vendor's CPUs.

    ``vendor``: ``intel``/``amd`` or the CPUID vendor string.  ``mode``: ``2008r2`` (the published
    list), ``standard`` (Windows Server 2012-2022 fixed set: a documented lower bound) or
    ``dynamic`` (Windows Server 2025: no fixed list, empty ``hidden``).
    """
    if mode not in HYPERV_MODES:
        raise ValueError(f"unknown Hyper-V compatibility mode {mode!r}; use one of {HYPERV_MODES}")
    key = _vendor_key(vendor)
    data = _FACTS
    spec = data["hyperv_modes"][mode]
    entries = []
    if "inherits" in spec:
        entries.extend(hyperv_compatibility(key, spec["inherits"]).hidden)
    entries.extend(
        HiddenFeature(entry["documented_as"], tuple(entry["features"]), entry.get("note", ""))
        for entry in spec["hidden"][key]
    )
    return HyperVCompatibility(
        mode=mode,
        vendor=key,
        title=spec["title"],
        hidden=tuple(entries),
        complete=spec["complete"],
        sources=tuple(data["sources"][source] for source in spec["sources"]),
        note=spec["note"],
    )


def hyperv_hidden_mask(vendor: str, mode: str = "2008r2") -> int:
    """Mask over TABLE of the features Hyper-V compatibility mode HIDES (documented ones)."""
    if mode == "dynamic":
        raise ValueError(
            "dynamic compatibility mode has no fixed hidden set: use hyperv_dynamic_visible_mask"
        )
    return hyperv_compatibility(vendor, mode).hidden_mask


def hyperv_visible_mask(feature_mask: int, vendor: str, mode: str = "2008r2") -> int:
    """The features of a host (``feature_mask`` over TABLE) that REMAIN visible to a guest in
    compatibility mode: the host's features minus the documented hidden ones."""
    return feature_mask & ~hyperv_hidden_mask(vendor, mode)


def hyperv_dynamic_visible_mask(host_feature_masks: Iterable[int]) -> int:
    """Windows Server 2025 dynamic mode: the features common to every node of the cluster."""
    masks = list(host_feature_masks)
    if not masks:
        raise ValueError("dynamic compatibility mode needs at least one cluster node")
    visible = masks[0]
    for mask in masks[1:]:
        visible &= mask
    return visible


# --- Why KVM needs no assist (policies/kvm.py kvm_cpuid_virtualised) --------------------------


# Shown as the KVM rule's message (policies/kvm.py); its source is in data/assists.json.
KVM_CPUID_POLICY: str = _FACTS["kvm_cpuid_policy"]["text"]
