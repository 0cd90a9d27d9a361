"""libcpuid raw dumps (``cpuid_tool --save``): ``basic_cpuid[n]=eax ebx ecx edx`` lines.

``basic_cpuid[n]`` is leaf n, ``ext_cpuid[n]`` leaf 0x80000000+n, and the ``intel_fn*`` /
``amd_fn*`` arrays hold the subleaves of leaves 4, 0xB, 0xD, 0x14 and 0x8000001D.  libcpuid saves
32 rows of each range whatever the maxima, so the rows above them are junk (dropped by the
decoder).  libcpuid's test files end with a trailer after a line of dashes.
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..raw import RawDump, decode_raw
from ._common import TRAILER, iter_lines

LINE = re.compile(r"^basic_cpuid\[\d+\]=[0-9a-f]{8} |\Aversion=", re.MULTILINE | re.IGNORECASE)
_ROW = re.compile(
    r"^([a-z_0-9]+)\[(\d+)\]=([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{8})\s*$",
    re.IGNORECASE,
)
# array name -> (leaf, whether the index is the subleaf)
_ARRAYS = {
    "basic_cpuid": (None, False),
    "ext_cpuid": (0x80000000, False),
    "intel_fn4": (0x4, True),
    "intel_fn11": (0xB, True),
    "intel_fn12": (0xD, True),
    "intel_fn14": (0x14, True),
    "amd_fn8000001dh": (0x8000001D, True),
}


def decode(text: str):
    leaves: dict[tuple[int, int], tuple] = {}
    subleaf_rows: dict[tuple[int, int], tuple] = {}
    ignored: set[str] = set()
    first_line = None
    for number, line in iter_lines(text):
        stripped = line.strip()
        if TRAILER.match(stripped):
            break
        if not stripped or "[" not in stripped.split("=", 1)[0]:
            continue  # blank, or a scalar such as version=...
        match = _ROW.match(stripped)
        if match is None:
            raise DumpParseError(
                "malformed libcpuid row; expected 'name[index]=eax ebx ecx edx' in hex", number
            )
        first_line = first_line or number
        array, index = match.group(1).lower(), int(match.group(2))
        registers = tuple(int(match.group(i), 16) for i in range(3, 7))
        if array not in _ARRAYS:
            ignored.add(array)
            continue
        leaf, is_subleaf = _ARRAYS[array]
        if is_subleaf:
            subleaf_rows[(leaf, index)] = registers
        else:
            leaves[((leaf or 0) + index, 0)] = registers
    leaves.update(subleaf_rows)
    warnings = (
        [f"ignored libcpuid arrays this decoder does not use: {', '.join(sorted(ignored))}"]
        if ignored
        else []
    )
    dump = RawDump(
        cpus=[leaves] if leaves else [],
        subleaves_enumerated=False,
        cpu_lines=[first_line or 1],
        warnings=warnings,
    )
    return decode_raw(dump, "libcpuid")
