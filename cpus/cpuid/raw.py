"""Decoding exact CPUID registers (and MSRs) into the one result type.

Every raw format (``cpuid -r``, AIDA64, libcpuid, libvirt cpudata, x86info) parses into a
``RawDump`` and comes through ``decode_raw``, so the pitfalls are handled in one place:

* leaves above the reported maxima are dropped (Intel echoes the highest basic leaf there);
* AMD's copies of leaf-1 EDX bits in 0x80000001 EDX are not in the table, so they never count;
* OS-dependent bits (OSXSAVE, OSPKE) and the hypervisor bit are not CPU features;
* Intel clears SYSCALL when CPUID runs outside 64-bit mode: on a 64-bit Intel CPU it is restored;
* per-CPU fields (APIC IDs, topology leaves) are ignored when CPUs are compared;
* a missing row for a leaf the CPU implements makes its features *unknown*, not absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import DumpParseError
from .identity import (
    HYPERVISOR_NAMES,
    identity_from_cpuid,
    max_extended,
    registers_text,
    vendor_string,
)
from .result import DecodedDump, Registers
from .table import TABLE

_REGISTER_INDEX = {"eax": 0, "ebx": 1, "ecx": 2, "edx": 3}

# (leaf, subleaf, register index) -> [(bit, mask), ...] for every CPUID feature of the table.
_WORDS: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
for (_leaf, _subleaf, _register), _features in TABLE.by_cpuid.items():
    _WORDS[(_leaf, _subleaf, _REGISTER_INDEX[_register])] = [(f.bit, f.mask) for f in _features]
_WORD_MASKS = {word: sum(mask for _, mask in bits) for word, bits in _WORDS.items()}


def _byte_tables(bits: list[tuple[int, int]]) -> tuple[list[int], ...]:
    """For each byte of a register, the feature mask of every possible byte value."""
    tables = []
    for shift in (0, 8, 16, 24):
        table = []
        for value in range(256):
            mask = 0
            for bit, feature_mask in bits:
                if shift <= bit < shift + 8 and value >> (bit - shift) & 1:
                    mask |= feature_mask
            table.append(mask)
        tables.append(table)
    return tuple(tables)


# Decoding a register is four table lookups instead of a loop over its bits: the hot path.
_WORD_TABLES = {word: _byte_tables(bits) for word, bits in _WORDS.items()}

# Leaves whose contents mean something only when a CPUID bit says the leaf exists.
_LEAF_GATES = {
    0x12: TABLE.by_name["sgx"],
    0x14: TABLE.by_name["intel_pt"],
    0xF: TABLE.by_name["cqm"],
}
# MSRs that exist only when a CPUID bit enumerates them.
_MSR_GATES = {
    0x10A: TABLE.by_name["arch_capabilities"],
    0xCF: TABLE.by_name["core_capabilities"],
}
_LEAF_MASKS = {leaf: sum(f.mask for f in TABLE if f.leaf == leaf) for leaf in _LEAF_GATES}
# Leaves whose registers decide features or identity: the only rows of CPUs other than CPU 0
# that a parser needs to keep (the rest of a multi-CPU dump is topology and caches).
RELEVANT_LEAVES = frozenset(
    {leaf for leaf, _, _ in _WORDS}
    | {0x0, 0x1, 0x40000000, 0x80000000, 0x80000002, 0x80000003, 0x80000004, 0x80000008, 0xC0000000}
)
# Registers compared between CPUs: the table's bits of every feature word, plus the signature.
# OSXSAVE and OSPKE are left out: they follow CR4, which the OS sets per CPU.
_OS_SET = sum(f.mask for f in TABLE if f.kind == "os")
_COMPARED = sorted(_WORDS) + [(1, 0, 0)]
_COMPARE_MASKS = {
    word: sum(1 << bit for bit, mask in _WORDS[word] if not mask & _OS_SET)
    if word in _WORDS
    else 0xFFFFFFFF
    for word in _COMPARED
}
_LEAF1_ECX = (1, 0, _REGISTER_INDEX["ecx"])
_HYPERVISOR_BIT = 1 << 31
_SSE2_BIT = 1 << 26  # CPUID.1:EDX[26]
_SYSCALL = TABLE.by_name["syscall"]
_LM = TABLE.by_name["lm"]
_CPU_MASK = TABLE.cpu_feature_mask


@dataclass
class RawDump:
    """What a raw-format parser hands over: registers of every CPU in the dump, CPU 0 first.

    ``subleaves_enumerated`` says that the tool printed every subleaf it found for a leaf (so a
    missing subleaf row means all zeros); when False, a missing subleaf row means "unknown".
    """

    cpus: list[dict[tuple[int, int], Registers]]  # at least the RELEVANT_LEAVES of each CPU
    msrs: dict[int, int] = field(default_factory=dict)
    subleaves_enumerated: bool = True
    cpu_lines: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def clamp(leaves: dict[tuple[int, int], Registers]) -> tuple[dict, int, int]:
    """Drop rows outside the implemented ranges; return the rows and both maxima."""
    max_basic = leaves[(0, 0)][0]
    max_ext = max_extended(leaves)
    in_vm = bool(leaves[(1, 0)][2] >> 31 & 1)
    max_hv = 0
    if in_vm and (0x40000000, 0) in leaves:
        # Old KVM reports 0 in EAX; the signature leaf and 0x40000001 exist regardless.
        max_hv = max(leaves[(0x40000000, 0)][0], 0x40000001)
        max_hv = min(max_hv, 0x400000FF)
    vendor = vendor_string(leaves[(0, 0)])
    max_centaur = 0
    if vendor in ("CentaurHauls", "  Shanghai  ") and (0xC0000000, 0) in leaves:
        max_centaur = leaves[(0xC0000000, 0)][0]

    def valid(leaf: int) -> bool:
        if leaf < 0x40000000:
            return leaf <= max_basic
        if leaf < 0x40000100:
            return leaf <= max_hv
        if 0x80000000 <= leaf <= 0x8000FFFF:
            return leaf <= max_ext
        if 0xC0000000 <= leaf <= 0xC000FFFF:
            return leaf <= max_centaur
        return False

    return {key: row for key, row in leaves.items() if valid(key[0])}, max_basic, max_ext


def _feature_bits(
    leaves: dict[tuple[int, int], Registers],
    max_basic: int,
    max_ext: int,
    subleaves_enumerated: bool,
) -> tuple[int, int]:
    """(present, unknown) masks of the table's CPUID features."""
    present = unknown = 0
    max_leaf7_subleaf = leaves.get((7, 0), (0, 0, 0, 0))[0] if max_basic >= 7 else 0
    for leaf, subleaf, register in _WORDS:
        implemented = leaf <= max_ext if leaf >= 0x80000000 else leaf <= max_basic
        if leaf == 7 and subleaf > max_leaf7_subleaf:
            implemented = False
        if not implemented:
            continue
        row = leaves.get((leaf, subleaf))
        if row is None:
            # A tool that enumerates subleaves omits all-zero ones; the leaf itself must be there.
            if subleaf and subleaves_enumerated and (leaf, 0) in leaves:
                continue
            unknown |= _WORD_MASKS[(leaf, subleaf, register)]
            continue
        value = row[register]
        if value:
            byte0, byte1, byte2, byte3 = _WORD_TABLES[(leaf, subleaf, register)]
            present |= (
                byte0[value & 0xFF]
                | byte1[value >> 8 & 0xFF]
                | byte2[value >> 16 & 0xFF]
                | byte3[value >> 24]
            )
    for leaf, gate in _LEAF_GATES.items():
        if not present & gate.mask:
            leaf_mask = _LEAF_MASKS[leaf]
            present &= ~leaf_mask
            if not unknown & gate.mask:
                unknown &= ~leaf_mask
    return present, unknown


def _msr_bits(msrs: dict[int, int], present: int, unknown: int) -> tuple[int, int]:
    for index, features in TABLE.by_msr.items():
        if index in msrs:
            value = msrs[index]
            for feature in features:
                if value >> feature.bit & 1:
                    present |= feature.mask
        elif present & _MSR_GATES[index].mask or unknown & _MSR_GATES[index].mask:
            # The MSR exists but the dump does not carry it (only libvirt's <msr> elements do).
            unknown |= sum(feature.mask for feature in features)
    return present, unknown


def _describe(mask: int) -> str:
    return ", ".join(feature.name for feature in TABLE.from_mask(mask)) or "none"


def implausible_leaf1(leaves: dict[tuple[int, int], Registers]) -> str | None:
    """A warning when CPUID.1:ECX cannot be what the CPU means, else None.

    Some very old CPUs (VIA/Centaur Samuel, IDT WinChip) leave junk in leaf 1's registers, so
    every decoder reads random features and the hypervisor bit from them.  The first leaf-1 ECX
    feature ever shipped, SSE3, came after SSE2 (1:EDX[26]) on every vendor, so ECX bits on a CPU
    without SSE2 are junk.  One exception is real: a hypervisor that offers an old CPU model (QEMU
    ``-cpu 486``/``pentium``) sets only the hypervisor bit (ECX[31]) and answers leaf 0x40000000
    with its signature; that is kept.
    """
    _, _, ecx, edx = leaves[(1, 0)]
    if not ecx or edx & _SSE2_BIT:
        return None
    if ecx == _HYPERVISOR_BIT:
        signature_row = leaves.get((0x40000000, 0))
        if signature_row and registers_text(*signature_row[1:]).strip() in HYPERVISOR_NAMES:
            return None
    return (
        f"implausible CPUID leaf 1: ECX = 0x{ecx:08x} on a CPU without SSE2 (family "
        f"{(leaves[(1, 0)][0] >> 8) & 0xF}); the features in 1:ECX and the hypervisor bit are "
        "junk that some old CPUs (VIA Samuel, IDT WinChip) leave there, so they are unknown "
        "and the dump is not judged to be taken in a VM"
    )


def decode_raw(dump: RawDump, format_name: str) -> DecodedDump:
    if not dump.cpus:
        raise DumpParseError("no CPUID rows found", 1)
    warnings = list(dump.warnings)
    cpu0 = dump.cpus[0]
    first_line = dump.cpu_lines[0] if dump.cpu_lines else 1
    for leaf in (0, 1):
        if (leaf, 0) not in cpu0:
            what = "vendor" if leaf == 0 else "signature and features"
            raise DumpParseError(f"the dump has no CPUID leaf {leaf} ({what})", first_line)
    if cpu0[(0, 0)][0] < 1:
        raise DumpParseError("CPUID leaf 0 reports no standard leaves (EAX = 0)", first_line)
    vendor = vendor_string(cpu0[(0, 0)])
    if len(vendor) != 12 or not vendor.isascii() or not vendor.isprintable():
        raise DumpParseError(
            f"CPUID leaf 0 holds no vendor string ({vendor!r}): not the CPUID of an x86 CPU",
            first_line,
        )
    leaves, max_basic, max_ext = clamp(cpu0)
    implausible = implausible_leaf1(leaves)
    if implausible:
        # Junk in 1:ECX: its bits (and the hypervisor bit) are not trusted; they become unknown.
        signature, ebx1, _, edx1 = leaves[(1, 0)]
        leaves = {**leaves, (1, 0): (signature, ebx1, 0, edx1)}
        warnings.append(implausible)
    identity, identity_warnings = identity_from_cpuid(leaves, max_basic, max_ext)
    warnings.extend(identity_warnings)

    present, unknown = _feature_bits(leaves, max_basic, max_ext, dump.subleaves_enumerated)
    if implausible:
        unknown |= _WORD_MASKS[_LEAF1_ECX]
    present, unknown = _msr_bits(dump.msrs, present, unknown)
    as_reported = present & _CPU_MASK
    if identity.vendor == "GenuineIntel" and present & _LM.mask and not present & _SYSCALL.mask:
        present |= _SYSCALL.mask
        warnings.append(
            "CPUID was run outside 64-bit mode, where Intel CPUs report SYSCALL (0x80000001 "
            "EDX[11]) as 0; syscall is counted as present because the CPU is 64-bit (lm)"
        )
    if unknown:
        warnings.append(
            f"the dump lacks CPUID rows for {len(TABLE.from_mask(unknown))} feature bits, "
            f"so their state is unknown: {_describe(unknown)}"
        )
    present &= _CPU_MASK
    unknown &= _CPU_MASK & ~present

    warnings.extend(_compare_cpus(dump, as_reported, identity.signature))
    return DecodedDump(
        format=format_name,
        identity=identity,
        feature_mask=present,
        unknown_mask=unknown,
        absent_means_unknown=False,
        warnings=tuple(warnings),
        cpuid=leaves,
        msrs=dict(dump.msrs),
        cpu_count=len(dump.cpus),
    )


_COMPARED_ROWS = tuple(
    ((leaf, subleaf), register, _COMPARE_MASKS[(leaf, subleaf, register)])
    for leaf, subleaf, register in _COMPARED
)
_NO_ROW = (None, None, None, None)


def _comparable(cpu: dict[tuple[int, int], Registers]) -> list:
    """The registers that matter for migration, with per-CPU and OS-set bits masked."""
    return [
        None if (value := cpu.get(key, _NO_ROW)[register]) is None else value & mask
        for key, register, mask in _COMPARED_ROWS
    ]


def _compare_cpus(dump: RawDump, present0: int, signature0: int | None) -> list[str]:
    """Warn when another CPU of the dump differs from CPU 0 beyond per-CPU fields."""
    warnings = []
    reference = _comparable(dump.cpus[0])
    for number, cpu in enumerate(dump.cpus[1:], start=1):
        if _comparable(cpu) == reference:
            continue
        if (0, 0) not in cpu or (1, 0) not in cpu:
            warnings.append(f"CPU {number} of the dump has no leaf 0 or 1 and was not compared")
            continue
        leaves, max_basic, max_ext = clamp(cpu)
        present, _ = _feature_bits(leaves, max_basic, max_ext, dump.subleaves_enumerated)
        present = _msr_bits(dump.msrs, present, 0)[0] & _CPU_MASK
        if present != present0:
            warnings.append(
                f"inconsistent host: CPU {number} differs from CPU 0 in features "
                f"(only on CPU 0: {_describe(present0 & ~present)}; "
                f"only on CPU {number}: {_describe(present & ~present0)}); CPU 0 was decoded"
            )
        elif cpu[(1, 0)][0] != signature0:
            warnings.append(
                f"CPU {number} has signature {cpu[(1, 0)][0]:08x}, CPU 0 has {signature0:08x} "
                "(mixed steppings); CPU 0 was decoded"
            )
    return warnings
