"""util-linux ``lscpu`` and ``lscpu -J``.  ``Flags:`` is /proc/cpuinfo's flags line verbatim."""

from __future__ import annotations

import json
import re

from ..errors import DumpParseError
from ..names import decode_names, ignored_linux_names, resolve
from ..result import Identity
from ._common import dec_int, iter_lines

# Bounded digit runs: an unbounded ``\d+`` searched through a long run of digits was quadratic.
_ADDRESS_SIZES = re.compile(r"(?<!\d)(\d{1,4}) bits physical, (\d{1,4}) bits virtual")


def decode_text(text: str):
    fields: dict[str, tuple[int, str]] = {}
    for number, line in iter_lines(text):
        # "Name: value" split at the first colon with str.partition, linear in the line; the
        # regular expression it replaces (``^\s*([^:]+:)\s*(.*?)\s*$``) backtracked
        # quadratically on a long line of blanks (a 2 MB dump took over 20 s).
        name, colon, value = line.partition(":")
        if colon and name:
            fields.setdefault((name + colon).strip(), (number, value.strip()))
    return _decode(fields, "lscpu")


def decode_json(text: str):
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise DumpParseError(f"invalid JSON: {error.msg}", error.lineno) from None
    entries = document.get("lscpu") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise DumpParseError('lscpu -J output must be an object with an "lscpu" list', 1)
    fields: dict[str, tuple[int | None, str]] = {}

    def walk(items: list) -> None:
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("field"), str):
                raise DumpParseError('every lscpu -J entry needs a "field" string', None)
            data = item.get("data")
            fields.setdefault(item["field"].strip(), (None, "" if data is None else str(data)))
            if isinstance(item.get("children"), list):
                walk(item["children"])

    walk(entries)
    return _decode(fields, "lscpu-json")


def _decode(fields: dict[str, tuple[int | None, str]], format_name: str):
    for required in ("Vendor ID:", "Flags:"):
        if required not in fields:
            raise DumpParseError(f"lscpu output without a {required!r} field", 1)
    vendor = fields["Vendor ID:"][1]

    def number(name: str) -> int | None:
        if name not in fields or fields[name][1] in ("", "-"):
            return None
        return dec_int(fields[name][1], fields[name][0], name)

    phys_bits = virt_bits = None
    match = _ADDRESS_SIZES.search(fields.get("Address sizes:", (None, ""))[1])
    if match:
        phys_bits, virt_bits = int(match.group(1)), int(match.group(2))
    present, hypervisor, unrecognised = resolve(
        fields["Flags:"][1].split(), "linux", ignored_linux_names(vendor)
    )
    hypervisor_vendor = fields.get("Hypervisor vendor:", (None, ""))[1] or None
    brand = fields.get("Model name:", (None, ""))[1]
    identity = Identity(
        vendor=vendor,
        family=number("CPU family:"),
        model=number("Model:"),
        stepping=number("Stepping:"),
        brand=" ".join(brand.split()),
        brand_raw=brand,
        phys_bits=phys_bits,
        virt_bits=virt_bits,
        in_vm=hypervisor or hypervisor_vendor is not None,
        hypervisor_vendor=hypervisor_vendor,
    )
    return decode_names(
        format_name=format_name, identity=identity, present=present, unrecognised=unrecognised
    )
