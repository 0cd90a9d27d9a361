"""libvirt's ``tests/cputestdata`` ``<cpudata arch='x86'>`` XML: one CPU, explicit subleaves,
optional ``<msr index='0x10a' eax='...' edx='...'/>`` elements."""

from __future__ import annotations

from ..errors import DumpParseError
from ..raw import RawDump, decode_raw
from ._common import hex_int, line_of, parse_xml


def decode(text: str):
    root = parse_xml(text)
    if root.tag != "cpudata":
        raise DumpParseError(f"expected a <cpudata> root element, found <{root.tag}>", 1)
    if root.get("arch", "x86") != "x86":
        raise DumpParseError(f"<cpudata arch='{root.get('arch')}'> is not x86", 1)
    leaves: dict[tuple[int, int], tuple] = {}
    msrs: dict[int, int] = {}
    for element in root:
        if element.tag == "cpuid":
            line = line_of(text, f"eax_in='{element.get('eax_in')}'") or line_of(
                text, element.get("eax_in") or "<cpuid"
            )
            try:
                leaf = hex_int(element.attrib["eax_in"], line, "eax_in")
                subleaf = hex_int(element.get("ecx_in", "0"), line, "ecx_in")
                registers = tuple(
                    hex_int(element.attrib[r], line, r) for r in ("eax", "ebx", "ecx", "edx")
                )
            except KeyError as missing:
                raise DumpParseError(
                    f"<cpuid> element without the {missing} attribute", line
                ) from None
            leaves[(leaf, subleaf)] = registers
        elif element.tag == "msr":
            line = line_of(text, "<msr")
            try:
                index = hex_int(element.attrib["index"], line, "index")
                value = hex_int(element.get("edx", "0"), line, "edx") << 32 | hex_int(
                    element.get("eax", "0"), line, "eax"
                )
            except KeyError as missing:
                raise DumpParseError(
                    f"<msr> element without the {missing} attribute", line
                ) from None
            msrs[index] = value
    dump = RawDump(
        cpus=[leaves] if leaves else [], msrs=msrs, subleaves_enumerated=True, cpu_lines=[1]
    )
    return decode_raw(dump, "libvirt-cpudata")
