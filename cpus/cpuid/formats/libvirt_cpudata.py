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
    # An element's line is looked for only when it is wrong: searching the text for every
    # element was quadratic in the number of elements (2 MB of <cpuid> took 14 s).
    for element in root:
        if element.tag == "cpuid":
            try:
                leaf = hex_int(element.attrib["eax_in"], None, "eax_in")
                subleaf = hex_int(element.get("ecx_in", "0"), None, "ecx_in")
                registers = tuple(
                    hex_int(element.attrib[r], None, r) for r in ("eax", "ebx", "ecx", "edx")
                )
            except (KeyError, DumpParseError) as error:
                line = line_of(text, f"eax_in='{element.get('eax_in')}'") or line_of(
                    text, element.get("eax_in") or "<cpuid"
                )
                raise _at_line(error, "<cpuid>", line) from None
            leaves[(leaf, subleaf)] = registers
        elif element.tag == "msr":
            try:
                index = hex_int(element.attrib["index"], None, "index")
                value = hex_int(element.get("edx", "0"), None, "edx") << 32 | hex_int(
                    element.get("eax", "0"), None, "eax"
                )
            except (KeyError, DumpParseError) as error:
                raise _at_line(error, "<msr>", line_of(text, "<msr")) from None
            msrs[index] = value
    dump = RawDump(
        cpus=[leaves] if leaves else [], msrs=msrs, subleaves_enumerated=True, cpu_lines=[1]
    )
    return decode_raw(dump, "libvirt-cpudata")


def _at_line(error: Exception, element: str, line: int | None) -> DumpParseError:
    if isinstance(error, KeyError):
        return DumpParseError(f"{element} element without the {error} attribute", line)
    return DumpParseError(error.reason, line)
