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
from ..raw import RawDump, decode_raw
from ._common import TRAILER, iter_lines

LINE = re.compile(
    r"^CPUID [0-9A-F]{8}(?::|\s)\s*[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}-[0-9A-F]{8}",
    re.MULTILINE | re.IGNORECASE,
)
_ROW = re.compile(
    r"^CPUID\s+([0-9A-F]{8})(?::|\s)\s*([0-9A-F]{8})-([0-9A-F]{8})-([0-9A-F]{8})-([0-9A-F]{8})(.*)$",
    re.IGNORECASE,
)
_SUBLEAF = re.compile(r"\[SL ([0-9A-F]{1,2})\]", re.IGNORECASE)
_MSR = re.compile(
    r"^MSR\s+([0-9A-F]{8}):\s*([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})-([0-9A-F]{4})", re.IGNORECASE
)
_CPU_HEADER = re.compile(
    r"^(?:-+\[ (?:CPUID Registers / )?Logical CPU #\d+ \]-+|CPUID Registers \(CPU #\d+.*\)"
    r"|CPU#\d+ AffMask:.*|Group: 0x[0-9A-F]+ Affinity mask:.*)\s*$",
    re.IGNORECASE,
)
_SECTION = re.compile(r"^-+\[ .* \]-+\s*$")


def decode(text: str):
    cpus: list[dict] = []
    cpu_lines: list[int] = []
    msrs: dict[int, int] = {}
    current: dict | None = None
    repeats: dict[int, int] = {}
    tagged = untagged_repeat = False
    in_cpuid_section = True
    for number, line in iter_lines(text):
        stripped = line.strip()
        if TRAILER.match(stripped):
            break
        if _CPU_HEADER.match(stripped):
            current, repeats, in_cpuid_section = {}, {}, True
            cpus.append(current)
            cpu_lines.append(number)
            continue
        if _SECTION.match(stripped):
            in_cpuid_section = "MSR" not in stripped.upper() and "CPUID" in stripped.upper()
            if not in_cpuid_section:
                current = None
            continue
        if stripped.upper().startswith("MSR "):
            match = _MSR.match(stripped)
            if match:
                msrs.setdefault(int(match.group(1), 16), int("".join(match.group(i) for i in range(2, 6)), 16))
            continue
        if not stripped.upper().startswith("CPUID "):
            continue
        match = _ROW.match(stripped)
        if match is None:
            if re.match(r"^CPUID\s+[0-9A-F]{8}", stripped, re.IGNORECASE):
                raise DumpParseError(
                    "malformed AIDA64 CPUID row; expected 'CPUID LEAF: EAX-EBX-ECX-EDX'", number
                )
            continue  # e.g. "CPUID Manufacturer : ..." in the CPU Info section
        leaf = int(match.group(1), 16)
        if current is None or (leaf == 0 and (0, 0) in current):
            current, repeats = {}, {}
            cpus.append(current)
            cpu_lines.append(number)
        tag = _SUBLEAF.search(match.group(6))
        if tag:
            tagged = True
            subleaf = int(tag.group(1), 16)
        else:
            subleaf = repeats.get(leaf, 0)
            untagged_repeat |= subleaf > 0
            repeats[leaf] = subleaf + 1
        current[(leaf, subleaf)] = tuple(int(match.group(i), 16) for i in range(2, 6))
    warnings = []
    if untagged_repeat and not tagged:
        warnings.append(
            "this AIDA64 dump has no [SL xx] subleaf tags: repeated leaves were numbered as "
            "successive subleaves (subleaf numbering inferred)"
        )
    dump = RawDump(cpus=cpus, msrs=msrs, subleaves_enumerated=tagged, cpu_lines=cpu_lines, warnings=warnings)
    return decode_raw(dump, "aida64")
