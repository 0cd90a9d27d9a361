"""AIDA64 / InstLatx64 CPUID dumps.

Rows are ``CPUID 00000007: 00000002-F3BFBFFB-BB417FEE-FFDD4430 [SL 00] [note]``.  New AIDA64
releases tag subleaves with ``[SL xx]`` and skip all-zero subleaves; old ones print subleaves as
untagged repeats.  A dump holds one block per logical CPU under headers that vary between
releases (or no header: a new ``CPUID 00000000`` row starts the next CPU), may carry an
``MSR Registers`` section, and other sections (versions, CPU info) that are skipped.  libcpuid's
copies end with a trailer after a line of dashes, where parsing stops.
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..raw import RELEVANT_LEAVES, RawDump, decode_raw
from ._common import cut_at_trailer, first_bad_line, registers

_H8 = "([0-9A-Fa-f]{8})"
_H4 = "([0-9A-Fa-f]{4})"
LINE = re.compile(
    r"^CPUID [0-9A-F]{8}(?::|\s)\s*[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}",
    re.MULTILINE | re.IGNORECASE,
)
_ROW_BODY = rf"CPUID[ \t]+{_H8}(?::|[ \t])[ \t]*{_H8}-{_H8}-{_H8}-{_H8}([^\r\n]*)"
_CPU_HEADER = (
    r"-+\[ (?:CPUID Registers / )?Logical CPU #\d+ \]-+|CPUID Registers \(CPU #\d+[^\r\n]*\)"
    r"|CPU#\d+ AffMask:[^\r\n]*|Group: 0x[0-9A-Fa-f]+ Affinity mask:[^\r\n]*"
)
_SCAN = re.compile(
    rf"^[ \t]*(?:(?P<cpu>{_CPU_HEADER})|(?P<section>-+\[ [^\r\n]* \]-+)|{_ROW_BODY}"
    rf"|MSR[ \t]+(?P<msr>[0-9A-Fa-f]{{8}}):[ \t]*{_H4}-{_H4}-{_H4}-{_H4})",
    re.MULTILINE,
)
_ROW = re.compile(rf"^[ \t]*{_ROW_BODY}")
_CANDIDATE = re.compile(r"^[ \t]*CPUID[ \t]+[0-9A-Fa-f]{8}", re.MULTILINE)
_SUBLEAF = re.compile(r"\[SL ([0-9A-Fa-f]{1,2})\]")


def decode(text: str):
    text = cut_at_trailer(text)
    cpus: list[dict] = []
    cpu_lines: list[int] = []
    msrs: dict[int, int] = {}
    current: dict | None = None
    repeats: dict[int, int] = {}
    tagged = untagged_repeat = False
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
            subleaf = repeats.get(leaf, 0)
            untagged_repeat |= subleaf > 0
            repeats[leaf] = subleaf + 1
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
            "successive subleaves (subleaf numbering inferred)"
        )
    dump = RawDump(
        cpus=cpus, msrs=msrs, subleaves_enumerated=tagged, cpu_lines=cpu_lines, warnings=warnings
    )
    return decode_raw(dump, "aida64")
