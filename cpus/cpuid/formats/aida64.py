"""AIDA64 / InstLatx64 CPUID dumps.

Rows are ``CPUID 00000007: 00000002-F3BFBFFB-BB417FEE-FFDD4430 [SL 00] [note]``.  New AIDA64
releases tag subleaves with ``[SL xx]`` and skip all-zero subleaves; old ones print subleaves as
untagged repeats.  A dump holds one block per logical CPU under headers that vary between
releases (or no header: a new ``CPUID 00000000`` row starts the next CPU), may carry an
``MSR Registers`` section, and other sections (versions, CPU info) that are skipped.  libcpuid's
copies end with a trailer after a line of dashes, where parsing stops.

Older InstLatx64 tools wrote the same rows with a space (or tab) before the colon
(``CPUID 00000001 : 000006F6-...``) and/or with the four registers separated by blanks instead
of dashes (``CPUID 00000001: 000006F6 00020800 0000E3BD BFEBFBFF``): all four layouts are read.

Untagged leaf 0xD rows (old AIDA64 and EVEREST print them without ``[SL xx]`` and leave out
all-zero subleaves) are numbered by their content, never by their position: the first row is
subleaf 0; a row whose size and offset (EAX, EBX) are those of a standard-format state component
(Intel SDM vol. 1 §13.4.3, table 13-1; the same offsets on AMD) is that component's subleaf; a
second row whose EAX has only the defined bits of subleaf 1 (0-4) and is not such a pair is
subleaf 1.  Any other untagged row is dropped, so the bits of subleaf 1 stay *unknown*.
Untagged repeats of leaf 7 are kept as successive subleaves only when their number matches
the highest subleaf that leaf 7.0 EAX announces; otherwise the extra rows are dropped and
7.1 is unknown.
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..raw import RELEVANT_LEAVES, RawDump, decode_raw
from ._common import cut_at_trailer, first_bad_line, registers

_H8 = "([0-9A-Fa-f]{8})"
_H4 = "([0-9A-Fa-f]{4})"
# After the leaf: ":" with or without blanks before it, or blanks alone; between registers: "-"
# or blanks.  Each blank run is followed by a fixed-width hex field or ":", so a long run costs
# one backtrack per blank at most (linear, tests/security/test_linear_parsing.py).
_AFTER_LEAF = r"(?:[ \t]*:|[ \t])[ \t]*"
_BETWEEN = r"(?:-|[ \t]+)"
LINE = re.compile(
    rf"^CPUID[ \t]+[0-9A-F]{{8}}{_AFTER_LEAF}[0-9A-F]{{8}}{_BETWEEN}[0-9A-F]{{8}}{_BETWEEN}"
    rf"[0-9A-F]{{8}}{_BETWEEN}[0-9A-F]{{8}}",
    re.MULTILINE | re.IGNORECASE,
)
_ROW_BODY = (
    rf"CPUID[ \t]+{_H8}{_AFTER_LEAF}{_H8}{_BETWEEN}{_H8}{_BETWEEN}{_H8}{_BETWEEN}{_H8}"
    r"([^\r\n]*)"
)
CPU_HEADER = (
    r"-+\[ (?:CPUID Registers / )?Logical CPU #\d+ \]-+|CPUID Registers \(CPU #\d+[^\r\n]*\)"
    r"|CPU#\d+ AffMask:[^\r\n]*|Group: 0x[0-9A-Fa-f]+ Affinity mask:[^\r\n]*"
)
_SCAN = re.compile(
    rf"^[ \t]*(?:(?P<cpu>{CPU_HEADER})|(?P<section>-+\[ [^\r\n]* \]-+)|{_ROW_BODY}"
    rf"|MSR[ \t]+(?P<msr>[0-9A-Fa-f]{{8}}):[ \t]*{_H4}-{_H4}-{_H4}-{_H4})",
    re.MULTILINE,
)
_ROW = re.compile(rf"^[ \t]*{_ROW_BODY}")
_CANDIDATE = re.compile(r"^[ \t]*CPUID[ \t]+[0-9A-Fa-f]{8}", re.MULTILINE)
_SUBLEAF = re.compile(r"\[SL ([0-9A-Fa-f]{1,2})\]")
# Standard-format XSAVE state components: (size, offset) in CPUID.(0xD, n) EAX/EBX -> n
# (Intel SDM vol. 1, §13.4.3 and table 13-1; AMD APM vol. 2 §11.5.2 uses the same offsets for
# the components it implements).  Offsets of AVX-512 and PKRU follow from the fixed layout.
XSAVE_COMPONENTS = {
    (0x100, 0x240): 2,  # AVX (YMM_Hi128)
    (0x40, 0x3C0): 3,  # MPX BNDREGS
    (0x40, 0x400): 4,  # MPX BNDCSR
    (0x40, 0x440): 5,  # AVX-512 opmask
    (0x200, 0x480): 6,  # AVX-512 ZMM_Hi256
    (0x400, 0x680): 7,  # AVX-512 Hi16_ZMM
    (0x8, 0xA80): 9,  # PKRU (after the AVX-512 state)
    (0x8, 0x980): 9,  # PKRU on AMD Zen 3/4, which has no MPX (4 * 0x40 earlier, packed)
}
_SUBLEAF1_EAX_BITS = 0x1F  # xsaveopt, xsavec, xgetbv1, xsaves, xfd


def xsave_subleaf(position: int, eax: int, ebx: int) -> int | None:
    """The subleaf of the ``position``-th untagged leaf-0xD row, judged by its content; None
    when it cannot be told (the row is then dropped and what it would say stays unknown)."""
    if position == 0:
        return 0
    component = XSAVE_COMPONENTS.get((eax, ebx))
    if component is not None:
        return component
    if position == 1 and not eax & ~_SUBLEAF1_EAX_BITS:
        return 1
    return None


def decode(text: str):
    text = cut_at_trailer(text)
    cpus: list[dict] = []
    cpu_lines: list[int] = []
    msrs: dict[int, int] = {}
    current: dict | None = None
    repeats: dict[int, int] = {}
    tagged = untagged_repeat = False
    dropped_xsave = 0
    rows = 0
    # Line numbers of block starts, counted forward from the previous one: counting from the
    # top for every block was quadratic (2 MB of leaf-0 rows, one block each, took over 20 s).
    counted_to, counted_line = 0, 1

    def line_of_block(position: int) -> int:
        nonlocal counted_to, counted_line
        counted_line += text.count("\n", counted_to, position)
        counted_to = position
        return counted_line

    for match in _SCAN.finditer(text):
        groups = match.groups()
        if match.group("cpu") is not None:
            current, repeats = {}, {}
            cpus.append(current)
            cpu_lines.append(line_of_block(match.start()))
            continue
        if match.group("section") is not None:
            if "CPUID" not in match.group("section").upper():
                current = None  # rows of other sections belong to no CPU block
            continue
        if match.group("msr") is not None:
            value = int("".join(groups[-4:]), 16)
            msrs.setdefault(int(match.group("msr"), 16), value)
            continue
        rows += 1
        leaf_hex, eax, ebx, ecx, edx, tail = groups[2:8]
        leaf = int(leaf_hex, 16)
        if current is None or (leaf == 0 and (0, 0) in current):
            current, repeats = {}, {}
            cpus.append(current)
            cpu_lines.append(line_of_block(match.start()))
        if leaf not in RELEVANT_LEAVES:  # topology and caches: not needed
            continue
        tag = _SUBLEAF.search(tail) if tail else None
        if tag:
            tagged = True
            subleaf = int(tag.group(1), 16)
        else:
            position = repeats.get(leaf, 0)
            untagged_repeat |= position > 0
            repeats[leaf] = position + 1
            if leaf == 0xD:
                values = registers(eax, ebx, ecx, edx)
                subleaf = xsave_subleaf(position, values[0], values[1])
                if subleaf is None or (leaf, subleaf) in current:
                    dropped_xsave += 1
                    continue
                current[(leaf, subleaf)] = values
                continue
            subleaf = position
        current[(leaf, subleaf)] = registers(eax, ebx, ecx, edx)
    if rows != len(_CANDIDATE.findall(text)):
        raise DumpParseError(
            "malformed AIDA64 CPUID row; expected 'CPUID LEAF: EAX-EBX-ECX-EDX'",
            first_bad_line(text, _CANDIDATE, _ROW),
        )
    warnings = []
    if untagged_repeat and not tagged:
        warnings.append(
            "this AIDA64 dump has no [SL xx] subleaf tags: repeated leaves were numbered as "
            "successive subleaves (subleaf numbering inferred), leaf 0xD rows by their content"
        )
        dropped_leaf7 = _check_untagged_leaf7(cpus)
        if dropped_leaf7:
            warnings.append(
                "untagged leaf 7 rows do not match the subleaf count leaf 7.0 announces: only "
                "subleaf 0 was kept, the other leaf 7 subleaves are unknown"
            )
    if dropped_xsave:
        warnings.append(
            f"{dropped_xsave} untagged leaf 0xD rows could not be identified by their content "
            "and were left out: the XSAVE features they would show are unknown"
        )
    dump = RawDump(
        cpus=cpus, msrs=msrs, subleaves_enumerated=tagged, cpu_lines=cpu_lines, warnings=warnings
    )
    return decode_raw(dump, "aida64")


def _check_untagged_leaf7(cpus: list[dict]) -> bool:
    """Drop untagged leaf 7 repeats whose count disagrees with 7.0 EAX (the highest subleaf):
    with all-zero subleaves left out, their numbering cannot be told.  True when any was."""
    dropped = False
    for cpu in cpus:
        extra = [key for key in cpu if key[0] == 7 and key[1] > 0]
        if not extra or (7, 0) not in cpu:
            continue
        if len(extra) != cpu[(7, 0)][0]:
            for key in extra:
                del cpu[key]
            dropped = True
    return dropped
