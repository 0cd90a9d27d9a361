"""Explain a failed migration's error message: which hypervisor, which axis, which features.

``explain(message)`` recognises the CPU-compatibility errors of QEMU, KVM, libvirt, VMware
vSphere, Hyper-V and Xen (XAPI), names the axis (``docs/domain.md#the-axes``) the error is
about, lists the CPU features it names (canonical Linux names, resolved through the feature
table from any vocabulary), and says in one plain sentence what happened and what to do.

Pure Python: no Django import here, so the REST view, the ``explain_error`` command and batch
jobs all call the same function.  ``docs/errors.md`` lists every recognised shape with a real
example and its source; ``migrations_log/data/error_messages.json`` holds those examples.

How a message is read:

* Rules are tried in a fixed order; the first rule whose pattern occurs anywhere in the message
  wins, and it collects its features from *every* line it matches (a QEMU log with twenty
  ``host doesn't support requested feature`` warnings yields all twenty features).
* QEMU names the bit as well as the feature (``CPUID.01H:ECX.sse4.1 [bit 19]``): the location is
  the reliable key, so it decides; the name is checked against it and a disagreement is reported
  in ``warnings``.  QEMU prints no subleaf, so a location shared by several subleaves is settled
  by the name.
* Names the table does not know (``tsx``, QEMU's VMX-capability names ``vmx-posted-intr``...) are
  never guessed: VMX-capability names stand for ``vmx`` (they are sub-features of VT-x), anything
  else is listed in ``unresolved``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cpus.cpuid import TABLE, Feature, compat, feature_classes, policies, releases

MAX_MESSAGE_BYTES = 64 * 1024

#: The axes of docs/domain.md#the-axes, plus ``unknown`` for an unrecognised message.
AXES = compat.AXES  # the engine's axes: an explanation points at the same axis as a verdict
UNKNOWN_AXIS = "unknown"
# Who printed the message: QEMU and libvirt print their own on KVM hosts, then every hypervisor
# the ledger records (cpus/cpuid/policies RECORDED).
HYPERVISORS = ("qemu", "libvirt", *policies.RECORDED)

UNKNOWN_SUMMARY = (
    "This message is not one the knowledge base recognises yet, so it cannot say which CPU "
    "difference caused it: check the hosts' CPUs by hand, and please send the message with "
    "where it came from so it can be added."
)

# --- Feature groups that decide the axis of a feature list --------------------------------------


_VMX = TABLE.by_name["vmx"]
# The engine's feature classes (cpus/cpuid/feature_classes.py), as sets of features: an
# explanation points at the same axis as a verdict about the same bits.
NESTED = frozenset(TABLE.from_mask(feature_classes.NESTED))
TSC = frozenset(TABLE.from_mask(feature_classes.INVTSC))
XSAVE = frozenset(TABLE.from_mask(feature_classes.XSAVE_STATE))

# MSRs QEMU writes at vCPU start, mapped to the CPUID feature that makes the guest have them.
_MSR_FEATURES = {
    0x3B: "tsc_adjust",
    0x48: "spec_ctrl",
    0x10A: "arch_capabilities",
    0x10B: "flush_l1d",
    0xCF: "core_capabilities",
    0x345: "pdcm",
    0x6E0: "tsc_deadline_timer",
    0xDA0: "xsaves",
}
_VMX_MSRS = range(0x480, 0x492)  # IA32_VMX_BASIC .. IA32_VMX_VMFUNC
_MSR_NAMES = {
    0x3B: "IA32_TSC_ADJUST",
    0x48: "IA32_SPEC_CTRL",
    0x10A: "IA32_ARCH_CAPABILITIES",
    0x10B: "IA32_FLUSH_CMD",
    0xCF: "IA32_CORE_CAPABILITIES",
    0x345: "IA32_PERF_CAPABILITIES",
    0x38D: "IA32_FIXED_CTR_CTRL",
    0x6E0: "IA32_TSC_DEADLINE",
    0xDA0: "IA32_XSS",
}


# --- The result ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Explanation:
    """What an error message means for CPU compatibility.

    ``features`` are sorted canonical (Linux) names; ``unresolved`` are names the message uses
    that the feature table does not know; ``warnings`` note anything doubtful in the reading
    (a QEMU feature name that disagrees with its bit).  ``pattern`` is the id of the rule that
    matched (see docs/errors.md), None when nothing did.
    """

    hypervisor: str | None
    axis: str
    features: tuple[str, ...]
    summary: str
    matched: bool
    pattern: str | None
    unresolved: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "hypervisor": self.hypervisor,
            "axis": self.axis,
            "features": list(self.features),
            "summary": self.summary,
            "matched": self.matched,
            "pattern": self.pattern,
            "unresolved": list(self.unresolved),
            "warnings": list(self.warnings),
        }


@dataclass
class _Found:
    """What a rule's extractor found in the message."""

    features: set[Feature] = field(default_factory=set)
    unresolved: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def add_unresolved(self, name: str) -> None:
        if name not in self.unresolved:
            self.unresolved.append(name)


# --- Name resolution ----------------------------------------------------------------------------

_STRIP = " \t\r\n'\"`()[]{}<>.;:"


def _clean_name(name: str) -> str:
    return name.strip(_STRIP)


def _resolve_name(name: str, vocabulary: str | None, found: _Found) -> None:
    """Add the feature a name means (in ``vocabulary`` first, then any) to ``found``."""
    name = _clean_name(name)
    if not name or name == "...":
        return
    feature = TABLE.lookup(name, vocabulary) if vocabulary else None
    if feature is None:
        feature = TABLE.lookup(name)
    if feature is None and re.match(r"vmx[-_]", name, re.IGNORECASE):
        # QEMU/libvirt name VMX capability bits (MSRs 0x480-0x491) vmx-*: parts of VT-x.
        feature = _VMX
        found.facts.setdefault("vmx_capabilities", []).append(name.lower())
    if feature is None:
        found.add_unresolved(name)
    else:
        found.features.add(feature)


def _resolve_list(text: str, vocabulary: str | None, found: _Found) -> None:
    for name in re.split(r"[,\s]+", text):
        _resolve_name(name, vocabulary, found)


def _resolve_cpuid_bit(leaf: int, register: str, bit: int, name: str | None, found: _Found):
    """Resolve QEMU's ``CPUID.<leaf>H:<REG>.<name> [bit N]`` by location, checking the name."""
    where = f"CPUID.{leaf:02X}H:{register.upper()}[bit {bit}]"
    at_bit = [
        feature
        for (word_leaf, _subleaf, word_register), features in TABLE.by_cpuid.items()
        if word_leaf == leaf and word_register == register
        for feature in features
        if feature.bit == bit
    ]
    named = None
    if name:
        named = TABLE.lookup(name, "qemu") or TABLE.lookup(name)
    if len(at_bit) == 1:
        (feature,) = at_bit
        if name and named is not feature:
            found.warnings.append(
                f"{where} is {feature.name} in the feature table, but the message calls it "
                f"{name!r}; the bit was trusted"
            )
        found.features.add(feature)
    elif named is not None and (named in at_bit or not at_bit):
        # Several subleaves share this location (QEMU prints no subleaf): the name settles it.
        # No table entry at this location: the name is all there is.
        found.features.add(named)
    else:
        found.add_unresolved(f"{name or '?'} ({where})")


def _resolve_msr_bit(msr: int, bit: int, name: str | None, found: _Found) -> None:
    """Resolve QEMU's ``MSR(<index>H).<name> [bit N]``."""
    for feature in TABLE.by_msr.get(msr, ()):
        if feature.bit == bit:
            found.features.add(feature)
            return
    if msr in _VMX_MSRS:
        found.features.add(_VMX)
        found.facts.setdefault("vmx_capabilities", []).append(name or f"MSR 0x{msr:x} bit {bit}")
    elif name:
        _resolve_name(name, "qemu", found)
    else:
        found.add_unresolved(f"MSR 0x{msr:x} bit {bit}")


# --- Axis and wording ---------------------------------------------------------------------------


def _feature_axis(features: Iterable[Feature]) -> str:
    features = set(features)
    if features and features <= NESTED:
        return "nested virt"
    if features and features <= TSC:
        return "tsc"
    if features and features <= XSAVE:
        return "xsave"
    return "features"


def _sorted_names(features: Iterable[Feature]) -> tuple[str, ...]:
    return tuple(sorted({feature.name for feature in features}))


def _listing(names: tuple[str, ...]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _it(names: tuple[str, ...]) -> str:
    return "it" if len(names) == 1 else "them"


def _fix_for(axis: str, names: tuple[str, ...]) -> str:
    """What to do about a feature list, by axis."""
    if axis == "nested virt":
        return (
            "turn nested virtualisation off for this guest (drop vmx/svm from its CPU) or keep "
            "it on hosts of the same vendor that offer it"
        )
    if axis == "tsc":
        return (
            "drop invtsc from the guest CPU, or set an explicit TSC frequency that every "
            "destination can run (within 250 ppm, or with TSC scaling)"
        )
    if axis == "xsave":
        return (
            f"use a guest CPU model without {_it(names)} (a pool baseline), since register "
            "state saved with XSAVE features a host lacks cannot be restored there"
        )
    return f"use a guest CPU model without {_it(names)} (a pool baseline)"


# --- Rules --------------------------------------------------------------------------------------
# Each rule: (id, hypervisor, compiled pattern, extractor, summariser).  The extractor reads every
# match into a _Found; the summariser returns (axis, summary).

Extractor = Callable[[list[re.Match], _Found], None]
Summariser = Callable[[_Found, tuple[str, ...]], tuple[str, str]]


@dataclass(frozen=True)
class _Rule:
    id: str
    hypervisor: str
    pattern: re.Pattern
    extract: Extractor
    summarise: Summariser


def _ws(text: str) -> str:
    """A literal phrase whose spaces also match line breaks (logs wrap long lines)."""
    return r"\s+".join(re.escape(word) for word in text.split())


_QEMU_BIT = (
    r"(?:CPUID\.(?P<leaf>[0-9A-Fa-f]+)H:(?P<reg>E[A-Da-d]X)|MSR\((?P<msr>[0-9A-Fa-f]+)H\))"
    r"(?:\.(?P<name>[\w.\-]+))?\s+\[bit\s+(?P<bit>\d+)\]"
)


def _extract_qemu_bits(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        bit = int(match["bit"])
        if match["msr"] is not None:
            _resolve_msr_bit(int(match["msr"], 16), bit, match["name"], found)
        else:
            leaf = int(match["leaf"], 16)
            _resolve_cpuid_bit(leaf, match["reg"].lower(), bit, match["name"], found)


def _summarise_qemu_host(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    axis = _feature_axis(found.features)
    if not names:
        return "features", (
            "This host lacks CPU features the guest CPU configuration asks for (QEMU named no "
            "feature it knows): use a guest CPU model that every host of the pool offers."
        )
    return axis, (
        f"This host lacks {_listing(names)}, which the guest CPU configuration asks for, so "
        f"QEMU leaves {_it(names)} out (or refuses to start with enforce) and a guest using "
        f"{_it(names)} cannot migrate here: {_fix_for(axis, names)}."
    )


def _summarise_qemu_tcg(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    axis = _feature_axis(found.features)
    listed = _listing(names) or "some requested CPU features"
    return axis, (
        f"QEMU is emulating the CPU in software (TCG, no KVM) and cannot emulate {listed}: "
        "enable KVM on this host, or use a guest CPU model without "
        f"{_it(names) if names else 'them'}."
    )


def _extract_libvirt_missing(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        _resolve_list(match["list"], "libvirt", found)


def _summarise_libvirt_missing(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    axis = _feature_axis(found.features)
    if not names:
        return "features", (
            "This host's CPU does not provide features the guest CPU requires: use a guest CPU "
            "model that every host of the pool offers (a pool baseline)."
        )
    return axis, (
        f"This host's CPU does not provide {_listing(names)}, which the guest CPU requires, "
        f"so libvirt will not start or receive the guest here: {_fix_for(axis, names)}."
    )


def _extract_libvirt_mismatch(matches: list[re.Match], found: _Found) -> None:
    extra = _Found()
    missing = _Found()
    for match in matches:
        rest = match["rest"]
        parts = re.split(r",\s*(?=missing\s+features:)", rest, maxsplit=1)
        for part in parts:
            kind = re.match(r"(extra|missing)\s+features:\s*(.*)", part.strip(), re.DOTALL)
            if not kind:
                continue
            target = extra if kind[1] == "extra" else missing
            _resolve_list(kind[2], "libvirt", target)
    found.features = extra.features | missing.features
    found.unresolved = [*missing.unresolved, *extra.unresolved]
    found.facts["extra"] = _sorted_names(extra.features)
    found.facts["missing"] = _sorted_names(missing.features)
    if missing.facts.get("vmx_capabilities"):
        found.facts["vmx_capabilities"] = missing.facts["vmx_capabilities"]


def _summarise_libvirt_mismatch(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    missing, extra = found.facts["missing"], found.facts["extra"]
    if missing:
        axis = _feature_axis(TABLE.by_name[name] for name in missing)
        lead = (
            f"The guest CPU QEMU could create on this host lacks {_listing(missing)}, which the "
            f"guest's CPU definition requires"
        )
        if extra:
            lead += f" (and has {_listing(extra)}, which it does not)"
        return axis, f"{lead}: {_fix_for(axis, missing)}."
    if extra:
        return "features", (
            f"The guest CPU on this host would gain {_listing(extra)}, which the running guest "
            "does not have, and a running guest's CPU must not change: give the guest the same "
            "explicit CPU definition (a named model) on both hosts and the same libvirt/QEMU "
            "versions."
        )
    return "features", (
        "The guest CPU QEMU could create on this host does not match the guest's CPU "
        "definition: use a guest CPU model that every host of the pool offers."
    )


def _no_extract(matches: list[re.Match], found: _Found) -> None:
    return None


def _fixed(axis: str, summary: str) -> Summariser:
    return lambda found, names: (axis, summary)


def _extract_vendor(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        vendor = match.groupdict().get("vendor")
        if vendor:
            found.facts["vendor"] = vendor


def _summarise_libvirt_vendor(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    return "vendor", (
        "The CPUs involved come from different vendors (Intel and AMD), which libvirt's "
        "cpu-baseline and cpu-compare refuse to combine: for KVM give the guest a named CPU "
        "model that both vendors' hosts run (the knowledge base's cross-vendor pool baseline) "
        "and never host-passthrough or host-model."
    )


def _extract_tsc(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        groups = match.groupdict()
        if groups.get("vm") and groups.get("host"):
            found.facts["vm_khz"] = int(groups["vm"])
            found.facts["host_khz"] = int(groups["host"])
        if groups.get("hz") and groups.get("hosthz"):
            found.facts["vm_khz"] = int(groups["hz"]) / 1000
            found.facts["host_khz"] = int(groups["hosthz"]) / 1000


def _summarise_tsc(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    vm, host = found.facts.get("vm_khz"), found.facts.get("host_khz")
    if vm and host:
        ppm = abs(vm - host) / host * 1e6
        gap = (
            f"the guest's TSC runs at {vm / 1e6:.6g} GHz and this host's at {host / 1e6:.6g} GHz "
            f"({ppm:,.0f} ppm apart, more than the 250 ppm tolerated) and this host cannot scale "
            "the TSC"
        )
    else:
        gap = "the guest's TSC frequency differs from this host's and this host cannot scale it"
    return "tsc", (
        f"The guest uses an invariant TSC at a fixed frequency, but {gap}: migrate only between "
        "hosts of the same TSC frequency or with TSC scaling, or drop invtsc from the guest CPU."
    )


def _extract_phys_bits(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        groups = match.groupdict()
        for key in ("host_bits", "guest_bits", "low_bits"):
            if groups.get(key):
                found.facts[key] = int(groups[key])


def _summarise_phys_bits(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    facts = found.facts
    if "low_bits" in facts:
        return "address bits", (
            f"The guest CPU has {facts['low_bits']} physical address bits, too few to address "
            "the memory configured for it: set phys-bits (host-phys-bits-limit) to the smallest "
            "MAXPHYADDR of the hosts it may run on, and no more, or lower its maximum memory."
        )
    host, guest = facts.get("host_bits"), facts.get("guest_bits")
    detail = (
        f"the guest CPU's phys-bits ({guest}) differ from this host's physical address width "
        f"({host})"
        if host and guest
        else "the guest CPU's phys-bits differ from this host's physical address width"
    )
    return "address bits", (
        f"The guest's address width does not match the host: {detail}; a guest with more bits "
        "than a destination's MAXPHYADDR can crash after migrating there, so set phys-bits to "
        "the smallest MAXPHYADDR in the pool."
    )


def _extract_nested(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        if match["kind"] and match["kind"].upper() == "VMX":
            found.features.add(_VMX)
        elif match["kind"] and match["kind"].upper() == "SVM":
            found.features.add(TABLE.by_name["svm"])


def _extract_msr(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        if match["msr"] is None:
            continue
        msr = int(match["msr"], 16)
        found.facts.setdefault("msrs", []).append(msr)
        if msr in _VMX_MSRS:
            found.features.add(_VMX)
        elif msr in _MSR_FEATURES:
            found.features.add(TABLE.by_name[_MSR_FEATURES[msr]])


def _summarise_msr(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    msrs = found.facts.get("msrs", [])
    if not msrs:
        return "features", (
            "KVM on this host refused an MSR write for a CPU feature the guest CPU exposes "
            "(QEMU then aborts on this assertion): compare the guest CPU with what this host's "
            "kernel supports, and use a guest CPU model this host can run."
        )
    described = ", ".join(
        f"0x{msr:x}"
        + (f" ({_MSR_NAMES[msr]})" if msr in _MSR_NAMES else "")
        + (" (a VMX capability MSR)" if msr in _VMX_MSRS else "")
        for msr in dict.fromkeys(msrs)
    )
    axis = _feature_axis(found.features)
    if names:
        return axis, (
            f"KVM on this host refused to set MSR {described}, which the guest needs for "
            f"{_listing(names)}, so QEMU aborted: this host's CPU or kernel cannot provide "
            f"{_it(names)}; {_fix_for(axis, names)}, or update the host kernel."
        )
    return "features", (
        f"KVM on this host refused to set MSR {described}, which the guest CPU configuration "
        "implies, so QEMU aborted: use a guest CPU model this host's CPU and kernel fully "
        "support (often one without PMU or VMX extras), or update the host kernel."
    )


def _extract_vmware_cpuid(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        found.facts["where"] = f"CPUID leaf {match['leaf']} register {match['reg'].upper()}"


def _summarise_vmware_cpuid(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    where = found.facts.get("where", "a CPUID register")
    return "features", (
        f"The destination ESXi host's CPU lacks a feature the virtual machine uses ({where}): "
        "put the hosts in an EVC cluster whose mode both support, and check that BIOS settings "
        "such as NX/XD and Intel VT/AMD-V match on both hosts."
    )


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "qemu-host-lacks-feature",
        "qemu",
        re.compile(r"host\s+doesn't\s+support\s+requested\s+feature:\s*" + _QEMU_BIT),
        _extract_qemu_bits,
        _summarise_qemu_host,
    ),
    _Rule(
        "qemu-tcg-lacks-feature",
        "qemu",
        re.compile(r"TCG\s+doesn't\s+support\s+requested\s+feature:\s*" + _QEMU_BIT),
        _extract_qemu_bits,
        _summarise_qemu_tcg,
    ),
    _Rule(
        "libvirt-host-cpu-missing",
        "libvirt",
        re.compile(
            _ws("Host CPU does not provide required features:") + r"\s*(?P<list>[^\n'\")]+)"
        ),
        _extract_libvirt_missing,
        _summarise_libvirt_missing,
    ),
    _Rule(
        "libvirt-guest-cpu-mismatch",
        "libvirt",
        re.compile(
            _ws("guest CPU doesn't match specification:")
            + r"\s*(?P<rest>(?:extra|missing)\s+features:[^\n'\"]*)"
        ),
        _extract_libvirt_mismatch,
        _summarise_libvirt_mismatch,
    ),
    _Rule(
        "libvirt-cpu-vendor",
        "libvirt",
        re.compile(
            _ws("CPU vendors do not match")
            + "|"
            + _ws("Host CPU vendor does not match required CPU vendor")
            + r"\s*(?P<vendor>\w+)?",
            re.IGNORECASE,
        ),
        _extract_vendor,
        _summarise_libvirt_vendor,
    ),
    _Rule(
        "libvirt-tsc-frequency",
        "libvirt",
        re.compile(
            _ws("Requested TSC frequency")
            + r"\s+(?P<hz>\d+)\s+Hz\s+is\s+outside\s+tolerance\s+range.{0,200}?around\s+host\s+"
            r"frequency\s+(?P<hosthz>\d+)\s+Hz",
            re.DOTALL,
        ),
        _extract_tsc,
        _summarise_tsc,
    ),
    _Rule(
        "qemu-tsc-frequency",
        "qemu",
        re.compile(
            _ws("TSC frequency mismatch between VM")
            + r"\s*\((?P<vm>\d+)\s*kHz\)\s*and\s+host\s*\((?P<host>\d+)\s*kHz\)"
        ),
        _extract_tsc,
        _summarise_tsc,
    ),
    _Rule(
        "qemu-invtsc-blocker",
        "qemu",
        re.compile(_ws("non-migratable CPU device (invtsc flag)")),
        lambda matches, found: found.features.add(TABLE.by_name["invtsc"]),
        _fixed(
            "tsc",
            "The guest's CPU exposes invtsc (an invariant TSC), which QEMU will not migrate or "
            "snapshot unless the guest has an explicit TSC frequency: set tsc-frequency (libvirt "
            "<timer name='tsc' frequency=...>) to one every destination runs, or drop invtsc.",
        ),
    ),
    _Rule(
        "qemu-phys-bits",
        "qemu",
        re.compile(
            r"Host\s+physical\s+bits\s+\((?P<host_bits>\d+)\)\s+does\s+not\s+match\s+"
            r"phys-bits\s+property\s+\((?P<guest_bits>\d+)\)"
            r"|Address\s+space\s+limit\s+0x[0-9a-fA-F]+\s*<\s*0x[0-9a-fA-F]+\s+"
            r"phys-bits\s+too\s+low\s+\((?P<low_bits>\d+)\)"
        ),
        _extract_phys_bits,
        _summarise_phys_bits,
    ),
    _Rule(
        "qemu-nested-migration",
        "qemu",
        re.compile(
            r"Nested\s+(?:(?P<kind>VMX|SVM)\s+)?virtuali[sz]ation\s+does\s+not\s+support\s+"
            r"live\s+migration"
        ),
        _extract_nested,
        _fixed(
            "nested virt",
            "The guest is running its own virtual machines (nested virtualisation), and QEMU "
            "cannot live-migrate a guest with nested state: stop the nested guests or turn "
            "nested virtualisation off for this guest (drop vmx/svm from its CPU) before "
            "migrating.",
        ),
    ),
    _Rule(
        "kvm-set-msr",
        "kvm",
        re.compile(
            r"failed\s+to\s+set\s+MSR\s+0x(?P<msr>[0-9a-fA-F]+)\s+to\s+0x[0-9a-fA-F]+"
            r"|kvm_(?:put_msrs|buf_set_msrs):\s+Assertion\s+`ret\s+==\s+"
            r"cpu->kvm_msr_buf->nmsrs'\s+failed"
        ),
        _extract_msr,
        _summarise_msr,
    ),
    _Rule(
        "vmware-cpuid-mismatch",
        "vmware",
        re.compile(
            _ws("The CPU of the host is incompatible with the CPU feature requirements of the")
            + r"\s+virtual\s+machine;\s+problem\s+detected\s+at\s+CPUID\s+level\s+"
            r"(?P<leaf>0x[0-9a-fA-F]+)\s+register\s+'(?P<reg>e[a-d]x)'",
            re.IGNORECASE,
        ),
        _extract_vmware_cpuid,
        _summarise_vmware_cpuid,
    ),
    _Rule(
        "vmware-evc-host-admission",
        "vmware",
        re.compile(
            _ws("CPU hardware does not support the cluster's current Enhanced vMotion")
            + r"\s+Compatibility\s+mode"
        ),
        _no_extract,
        _fixed(
            "features",
            "This ESXi host's CPU lacks features that the cluster's EVC mode requires, so it "
            "cannot join the cluster: lower the cluster's EVC mode to one every host supports "
            "(or enable the missing features, such as VT and NX/XD, in the host's BIOS).",
        ),
    ),
    _Rule(
        "vmware-hardware-requirements",
        "vmware",
        re.compile(
            _ws("The target host does not support the virtual machine's current hardware")
            + r"\s+requirements"
            + "|"
            + _ws("requires hardware features that are unsupported or disabled on the target")
            + r"\s+host",
        ),
        _no_extract,
        _fixed(
            "features",
            "The destination ESXi host's CPU lacks features the running virtual machine uses: "
            "put source and destination in an EVC cluster (or give the VM a per-VM EVC mode) "
            "that both hosts support, then power-cycle the VM so it picks up the baseline.",
        ),
    ),
    _Rule(
        "hyperv-processor-features",
        "hyperv",
        re.compile(
            r"(?:is\s+using|uses)\s+processor-specific\s+features\s+not\s+supported\s+"
            r"(?:on|by)\s+(?:the\s+)?(?:host|physical\s+computer)"
        ),
        _no_extract,
        _fixed(
            "features",
            "The destination Hyper-V host's processor lacks features the virtual machine is "
            "using: shut the VM down and turn on processor compatibility mode "
            "(Set-VMProcessor -CompatibilityForMigrationEnabled $true); Hyper-V never migrates "
            "between Intel and AMD hosts.",
        ),
    ),
    _Rule(
        "hyperv-hardware-incompatible",
        "hyperv",
        re.compile(
            _ws("The hardware on the destination computer")
            + r"\s+(?:isn't|is\s+not)\s+"
            + _ws("compatible with the hardware requirements of this virtual machine")
        ),
        _no_extract,
        _fixed(
            "features",
            "The destination Hyper-V host cannot provide the processor features this virtual "
            "machine was started with: shut the VM down and turn on processor compatibility "
            "mode (Set-VMProcessor -CompatibilityForMigrationEnabled $true), or migrate only "
            "between hosts of the same processor generation.",
        ),
    ),
    _Rule(
        "xen-cpu-vendor",
        "xen",
        re.compile(_ws("VM last booted on a host which had a CPU from a different vendor")),
        _no_extract,
        _fixed(
            "vendor",
            "The VM was last booted on a host whose CPU comes from another vendor (Intel versus "
            "AMD), and Xen will not live-migrate a running VM across vendors: shut it down and "
            "start it on the new host, or migrate only between hosts of one vendor.",
        ),
    ),
)

# --- The stack: VMX capabilities, machine types, model releases, microcode ------------------------


def _vmx_summary(capabilities: list[str]) -> str:
    """The layer a vmx-* error is about: the hosts' VMX capabilities (MSRs 0x480-0x491), set by
    the CPU, its microcode/BIOS and the kernel's KVM module, not by CPUID."""
    listed = ", ".join(sorted(dict.fromkeys(capabilities)))
    return (
        f"The destination's VMX capabilities (the nested-virtualisation controls of its "
        f"IA32_VMX MSRs, not CPUID) lack {listed}, which this nested guest (vmx) was given: "
        "the VMX layer changed between the hosts (another CPU, microcode or BIOS setting, or a "
        "kernel whose KVM offers fewer controls), so compare both hosts' VMX capabilities "
        "(cpukb report as root uploads them), give the guest only the common ones (libvirt "
        "<feature policy='disable' name='vmx-...'/>, QEMU -cpu ...,-vmx-...) or keep nested "
        "guests on hosts with equal VMX capabilities" + "."
    )


def _extract_machine(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        groups = match.groupdict()
        machine = groups.get("machine") or groups.get("qmachine")
        if machine:
            found.facts["machine"] = machine


def _summarise_machine(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    machine = found.facts.get("machine")
    version = re.search(r"-(\d+)\.(\d+)$", machine or "")
    release = f" (QEMU {version[1]}.{version[2]} introduced it)" if version else ""
    what = f"machine type {machine}{release}" if machine else "the guest's machine type"
    return "stack", (
        f"The destination's QEMU does not offer {what}, which the guest was started with: a "
        "guest keeps its machine type across migrations and QEMU adds one pc-i440fx/pc-q35 "
        "machine type per release, so the destination's QEMU is older (or a distribution "
        "build without that type), so upgrade the destination's QEMU or start the guest with "
        "a machine type every host has (virsh capabilities lists them)."
    )


def _extract_model(matches: list[re.Match], found: _Found) -> None:
    for match in matches:
        found.facts["model"] = match["model"]


def _summarise_model(found: _Found, names: tuple[str, ...]) -> tuple[str, str]:
    model = found.facts.get("model", "")
    available = releases.qemu_availability(model) or releases.libvirt_availability(model)
    since = f" ({model} first appeared in {available.describe()})" if available else ""
    return "stack", (
        f"The destination's QEMU or libvirt does not know the guest's CPU model {model}{since}, "
        "so the guest cannot start there: upgrade the destination's QEMU/libvirt, or give the "
        "guest an older model every host's QEMU has (the knowledge base never suggests a model "
        "a destination's recorded QEMU lacks)."
    )


_STACK_RULES: tuple[_Rule, ...] = (
    _Rule(
        "libvirt-machine-type-unsupported",
        "libvirt",
        re.compile(
            r"Emulator\s+'[^']*'\s+does\s+not\s+support\s+machine\s+type\s+'(?P<machine>[^']+)'"
        ),
        _extract_machine,
        _summarise_machine,
    ),
    _Rule(
        "qemu-machine-type-unsupported",
        "qemu",
        re.compile(
            r"(?:-machine|-M)\s+(?:type=)?(?P<qmachine>[\w.\-]+)[^\n]*?:\s*unsupported\s+"
            r"machine\s+type|unsupported\s+machine\s+type"
        ),
        _extract_machine,
        _summarise_machine,
    ),
    _Rule(
        "qemu-unknown-cpu-model",
        "qemu",
        re.compile(r"unable\s+to\s+find\s+CPU\s+model\s+'(?P<model>[^']+)'"),
        _extract_model,
        _summarise_model,
    ),
    _Rule(
        "microcode-changed",
        "kvm",
        re.compile(
            r"microcode\b[^\n]{0,80}?\b(?:changed|mismatch|differs?|updated)"
            r"|\b(?:changed|mismatch|differs?)\b[^\n]{0,40}?\bmicrocode",
            re.IGNORECASE,
        ),
        _no_extract,
        _fixed(
            "stack",
            "The host's microcode changed, and a microcode update can remove CPU features (Intel's "
            "TAA update lets the kernel turn TSX, hle and rtm, off) or change the VMX "
            "capabilities KVM offers, so the CPU layer under the guest is not the one it was "
            "checked against: upload a new report of the host (cpukb report), read its drift "
            "timeline for what vanished, and move guests whose CPU model needs a vanished "
            "feature to a model without it, such as a -noTSX model.",
        ),
    ),
)

_RULES = _RULES + _STACK_RULES
RULE_IDS = tuple(rule.id for rule in _RULES)


class MessageTooLong(ValueError):
    """An error message over ``MAX_MESSAGE_BYTES``: only the lines around the error are read."""


def explain(message: str) -> Explanation:
    """Explain one error message (or a whole log excerpt) in the knowledge base's terms.

    Raises ``TypeError`` for a non-string and ``MessageTooLong`` (a ValueError) for a message
    over 64 KiB.
    """
    if not isinstance(message, str):
        raise TypeError(f"message must be a string, not {type(message).__name__}")
    size = len(message.encode("utf-8", errors="surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLong(
            f"message is too long: {size} bytes, and at most {MAX_MESSAGE_BYTES} bytes "
            "(64 KiB) are accepted; send only the lines around the error"
        )
    for rule in _RULES:
        matches = list(rule.pattern.finditer(message))
        if not matches:
            continue
        found = _Found()
        rule.extract(matches, found)
        names = _sorted_names(found.features)
        axis, summary = rule.summarise(found, names)
        if found.facts.get("vmx_capabilities") and names == ("vmx",):
            axis, summary = "nested virt", _vmx_summary(found.facts["vmx_capabilities"])
        return Explanation(
            hypervisor=rule.hypervisor,
            axis=axis,
            features=names,
            summary=summary,
            matched=True,
            pattern=rule.id,
            unresolved=tuple(found.unresolved),
            warnings=tuple(found.warnings),
        )
    return Explanation(
        hypervisor=None,
        axis=UNKNOWN_AXIS,
        features=(),
        summary=UNKNOWN_SUMMARY,
        matched=False,
        pattern=None,
    )
