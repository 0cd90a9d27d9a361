"""Linux ``/proc/cpuinfo``: the first ``processor`` block.

Flags are the kernel's names (Linux vocabulary).  Synthetic flags (``constant_tsc``, ``rep_good``,
VMX capabilities...) are recognised and ignored; real bits the kernel hides, and bits an older
kernel does not know, are unknown.  ``power management`` names bits of CPUID 0x80000007 EDX; old
kernels print a bit without a name as ``[n]`` (``[8]`` is the invariant TSC).
"""

from __future__ import annotations

import re

from ..errors import DumpParseError
from ..names import decode_names, ignored_linux_names, resolve
from ..result import Identity
from ..table import TABLE
from ._common import dec_int, iter_lines

# Bounded digit runs: an unbounded ``\d+`` searched through a long run of digits was quadratic.
_ADDRESS_SIZES = re.compile(r"(?<!\d)(\d{1,4}) bits physical, (\d{1,4}) bits virtual")
_POWER_MANAGEMENT = {
    "hwpstate": "hw_pstate",
    "cpb": "cpb",
    "proc_feedback": "proc_feedback",
    "[8]": "invtsc",
}


def read_block(text: str) -> tuple[dict[str, tuple[int, str]], int]:
    """Fields of the first processor block: name -> (line, value)."""
    fields: dict[str, tuple[int, str]] = {}
    start = 0
    for number, line in iter_lines(text):
        if not line.strip():
            if fields:
                break
            continue
        # "name : value" split at the first colon with str.partition: linear in the line, where
        # the regular expression it replaces (``^([^:]+?)\s*:``) was quadratic on a long line
        # of blanks without a colon (a 2 MB dump took over 20 s).
        name, colon, value = line.partition(":")
        if not colon or not name:
            continue
        name = name.strip().lower()
        if name == "processor" and fields:
            break
        start = start or number
        fields.setdefault(name, (number, value.strip()))
    return fields, start or 1


def decode(text: str):
    fields, start = read_block(text)
    if "vendor_id" not in fields:
        raise DumpParseError("the processor block has no vendor_id line", start)
    if "flags" not in fields:
        raise DumpParseError("the processor block has no flags line", start)
    vendor = fields["vendor_id"][1]

    def number(name: str) -> int | None:
        return dec_int(fields[name][1], fields[name][0], name) if name in fields else None

    phys_bits = virt_bits = None
    if "address sizes" in fields:
        match = _ADDRESS_SIZES.search(fields["address sizes"][1])
        if match:
            phys_bits, virt_bits = int(match.group(1)), int(match.group(2))
    flags = fields["flags"][1].split()
    present, hypervisor, unrecognised = resolve(flags, "linux", ignored_linux_names(vendor))
    for name in fields.get("power management", (0, ""))[1].split():
        if name in _POWER_MANAGEMENT:
            present |= TABLE.by_name[_POWER_MANAGEMENT[name]].mask
    brand = fields.get("model name", (0, ""))[1]
    brand = "" if brand == "unknown" else brand
    identity = Identity(
        vendor=vendor,
        family=number("cpu family"),
        model=number("model"),
        stepping=number("stepping"),
        brand=" ".join(brand.split()),
        brand_raw=brand,
        phys_bits=phys_bits,
        virt_bits=virt_bits,
        max_basic_leaf=number("cpuid level"),
        in_vm=hypervisor,
    )
    return decode_names(
        format_name="proc-cpuinfo", identity=identity, present=present, unrecognised=unrecognised
    )
