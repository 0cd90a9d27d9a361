"""Todd Allen's ``cpuid -r`` and ``cpuid -1 -r`` (http://www.etallen.com/cpuid.html).

Modern releases print ``   0x00000007 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x...``; old ones
omit the subleaf column and repeat the leaf for successive subleaves.  ``cpuid -r`` prints one
``CPU n:`` block per logical CPU, ``cpuid -1 -r`` one ``CPU:`` block.
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..raw import RawDump, decode_raw
from ._common import iter_lines

LINE = re.compile(
    r"^\s+0x[0-9a-f]{8}(?: 0x[0-9a-f]{1,8})?: eax=0x[0-9a-f]{8} ebx=0x[0-9a-f]{8} "
    r"ecx=0x[0-9a-f]{8} edx=0x[0-9a-f]{8}",
    re.MULTILINE | re.IGNORECASE,
)
_ROW = re.compile(
    r"^\s*0x([0-9a-f]{8})(?: 0x([0-9a-f]{1,8}))?:\s+eax=0x([0-9a-f]{8})\s+ebx=0x([0-9a-f]{8})\s+"
    r"ecx=0x([0-9a-f]{8})\s+edx=0x([0-9a-f]{8})\s*$",
    re.IGNORECASE,
)
_CPU = re.compile(r"^CPU(?: (\d+))?:\s*$")


def decode(text: str):
    cpus: list[dict] = []
    cpu_lines: list[int] = []
    current: dict | None = None
    repeats: dict[int, int] = {}
    for number, line in iter_lines(text):
        stripped = line.strip()
        if not stripped:
            continue
        if _CPU.match(stripped):
            current = {}
            repeats = {}
            cpus.append(current)
            cpu_lines.append(number)
            continue
        if not stripped.lower().startswith("0x"):
            continue
        match = _ROW.match(line)
        if match is None:
            raise DumpParseError(
                "malformed cpuid -r row; expected '0xLEAF 0xSUB: eax=0x... ebx=0x... ecx=0x... edx=0x...'",
                number,
            )
        if current is None:
            current = {}
            cpus.append(current)
            cpu_lines.append(number)
        leaf = int(match.group(1), 16)
        if match.group(2) is not None:
            subleaf = int(match.group(2), 16)
        else:  # legacy releases: a repeated leaf is the next subleaf
            subleaf = repeats.get(leaf, 0)
            repeats[leaf] = subleaf + 1
        current[(leaf, subleaf)] = tuple(int(match.group(i), 16) for i in range(3, 7))
    return decode_raw(RawDump(cpus=cpus, cpu_lines=cpu_lines), "cpuid-r")
