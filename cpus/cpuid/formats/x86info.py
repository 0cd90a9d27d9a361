"""``x86info -r`` (Dave Jones, last release 1.31pre): ``eax in: 0x00000001, eax = ... edx = ...``.

x86info prints subleaf 0 only, so features of leaf 7 subleaf 1 and leaf 0xD subleaf 1 (xsaveopt,
xsavec, xsaves, avx_vnni...) are unknown.  Its own decoded flags are not used.
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..raw import RawDump, decode_raw
from ._common import iter_lines

LINE = re.compile(r"^eax in: 0x[0-9a-f]{8}, eax = [0-9a-f]{8} ebx = ", re.MULTILINE | re.IGNORECASE)
_ROW = re.compile(
    r"^eax in: 0x([0-9a-f]{8}), eax = ([0-9a-f]{8}) ebx = ([0-9a-f]{8}) ecx = ([0-9a-f]{8}) "
    r"edx = ([0-9a-f]{8})\s*$",
    re.IGNORECASE,
)


def decode(text: str):
    cpus: list[dict] = []
    cpu_lines: list[int] = []
    current: dict | None = None
    for number, line in iter_lines(text):
        stripped = line.strip()
        if not stripped.lower().startswith("eax in:"):
            continue
        match = _ROW.match(stripped)
        if match is None:
            raise DumpParseError(
                "malformed x86info row; expected 'eax in: 0x..., eax = ... edx = ...'", number
            )
        leaf = int(match.group(1), 16)
        if current is None or (leaf, 0) in current:
            current = {}
            cpus.append(current)
            cpu_lines.append(number)
        current[(leaf, 0)] = tuple(int(match.group(i), 16) for i in range(2, 6))
    warnings = ["x86info prints subleaf 0 only: features of other subleaves are unknown"]
    dump = RawDump(cpus=cpus, subleaves_enumerated=False, cpu_lines=cpu_lines, warnings=warnings)
    return decode_raw(dump, "x86info")
