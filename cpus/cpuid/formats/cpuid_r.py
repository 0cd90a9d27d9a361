"""Todd Allen's ``cpuid -r`` and ``cpuid -1 -r`` (http://www.etallen.com/cpuid.html).

Modern releases print ``   0x00000007 0x00: eax=0x... ebx=0x... ecx=0x... edx=0x...``; old ones
omit the subleaf column and repeat the leaf for successive subleaves.  ``cpuid -r`` prints one
``CPU n:`` block per logical CPU, ``cpuid -1 -r`` one ``CPU:`` block.
"""

from __future__ import annotations

import re
import struct

from ..errors import DumpParseError
from ..raw import RELEVANT_LEAVES, RawDump, decode_raw
from ._common import first_bad_line

_HEX8 = "([0-9a-fA-F]{8})"
# Spaces and tabs only before the row: ``^\s+`` also crossed line breaks, so every line of a
# run of blank lines rescanned the rest of the run (quadratic: 64 KB of newlines took 6 s).
LINE = re.compile(
    r"^[ \t]+0x[0-9a-f]{8}(?: 0x[0-9a-f]{1,8})?: eax=0x[0-9a-f]{8} ebx=0x[0-9a-f]{8} "
    r"ecx=0x[0-9a-f]{8} edx=0x[0-9a-f]{8}",
    re.MULTILINE | re.IGNORECASE,
)
_ROW_BODY = (
    rf"[ \t]*0x{_HEX8}(?: 0x([0-9a-fA-F]{{1,8}}))?:[ \t]+eax=0x{_HEX8}[ \t]+ebx=0x{_HEX8}"
    rf"[ \t]+ecx=0x{_HEX8}[ \t]+edx=0x{_HEX8}[ \t]*\r?$"
)
_ROW = re.compile(_ROW_BODY)
_CANDIDATE = re.compile(r"^[ \t]*0x")
_MALFORMED = (
    "malformed cpuid -r row; expected '0xLEAF 0xSUB: eax=0x... ebx=0x... ecx=0x... edx=0x...'"
)
# Rows are found without anchors and with '.' for the hex digits, which is twice as fast as hex
# classes; bytes.fromhex and the 16-byte unpack then reject anything that is not hex, and
# str.count proves that no row of the dump was skipped.
_FAST_ROW = re.compile(
    r"0x(.{8})(?: 0x(.{1,8}?))?: eax=0x(.{8}) ebx=0x(.{8}) ecx=0x(.{8}) edx=0x(.{8})"
)
_RELEVANT_HEX = frozenset(f"{leaf:08{case}}" for leaf in RELEVANT_LEAVES for case in "xX")
_unpack = struct.Struct(">4I").unpack


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each "CPU n:" block; the whole text when there is no header."""
    starts = [0] if text.startswith("CPU") else []
    position = text.find("\nCPU")
    while position >= 0:
        starts.append(position + 1)
        position = text.find("\nCPU", position + 1)
    if not starts:
        return [(0, len(text))]
    return list(zip(starts, [*starts[1:], len(text)], strict=True))


def decode(text: str):
    try:
        cpus = _fast_decode(text)
    except (ValueError, struct.error):
        cpus = None
    if cpus is None:
        bad = first_bad_line(text, _CANDIDATE, _ROW)
        if bad is not None:
            raise DumpParseError(_MALFORMED, bad)
        return _tolerant_decode(text)
    return decode_raw(RawDump(cpus=cpus), "cpuid-r")


def _fast_decode(text: str) -> list[dict] | None:
    """Every CPU's relevant rows, or None when the dump is not made of clean rows only."""
    cpus: list[dict] = []
    zero_x = 0
    for start, end in _blocks(text):
        current: dict = {}
        repeats: dict[int, int] = {}
        rows = _FAST_ROW.findall(text, start, end)
        for leaf_hex, subleaf_hex, eax, ebx, ecx, edx in rows:
            if subleaf_hex:
                zero_x += 6
                if leaf_hex not in _RELEVANT_HEX:  # topology and caches: not needed
                    continue
                key = (int(leaf_hex, 16), int(subleaf_hex, 16))
            else:  # legacy releases: a repeated leaf is the next subleaf
                zero_x += 5
                leaf = int(leaf_hex, 16)
                subleaf = repeats.get(leaf, 0)
                repeats[leaf] = subleaf + 1
                key = (leaf, subleaf)
            current[key] = _unpack(bytes.fromhex(eax + ebx + ecx + edx))
        if rows:
            cpus.append(current)
    return cpus if text.count("0x") == zero_x else None


def _tolerant_decode(text: str):
    """Rows checked one by one: for dumps with stray text that holds "0x" (a pasted prompt...)."""
    cpus: list[dict] = []
    current: dict | None = None
    repeats: dict[int, int] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("CPU") and stripped.endswith(":"):
            current, repeats = {}, {}
            cpus.append(current)
            continue
        match = _ROW.match(line)
        if match is None:
            continue
        if current is None:
            current = {}
            cpus.append(current)
        leaf_hex, subleaf_hex, eax, ebx, ecx, edx = match.groups()
        leaf = int(leaf_hex, 16)
        if subleaf_hex:
            subleaf = int(subleaf_hex, 16)
        else:
            subleaf = repeats.get(leaf, 0)
            repeats[leaf] = subleaf + 1
        if leaf in RELEVANT_LEAVES:
            current[(leaf, subleaf)] = _unpack(bytes.fromhex(eax + ebx + ecx + edx))
    return decode_raw(RawDump(cpus=[cpu for cpu in cpus if cpu]), "cpuid-r")
