"""CPU identity from raw CPUID registers: vendor, family/model/stepping, brand, address sizes,
leaf limits, and whether the dump was taken inside a virtual machine.  The vendor strings and
hypervisor signatures it recognises are data: ``data/vendors.json``."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from . import facts
from .result import Identity, Registers

_DATA = facts.load("vendors.json")
# Hypervisor signature (CPUID 0x40000000) -> the hypervisor's name.
HYPERVISOR_NAMES: dict[str, str] = {row["signature"]: row["name"] for row in _DATA["hypervisors"]}


# CPUID vendor strings (leaf 0) -> the maker's name, for display and for filtering by name.  The
# table and its sources (Linux's ``c_ident`` of each vendor's cpu_dev, the vendors' documents)
# are data/vendors.json.
VENDOR_NAMES: dict[str, str] = {row["string"]: row["maker"] for row in _DATA["vendors"]}
# A name typed in a filter -> every vendor string it covers (Zhaoxin CPUs report either string).
VENDOR_STRINGS_BY_NAME: dict[str, tuple[str, ...]] = {}
for _string, _name in VENDOR_NAMES.items():
    for _key in {_name.split(" (")[0].lower()} | {
        part.strip().lower() for part in _name.partition("(")[2].rstrip(")").split(",") if part
    }:
        VENDOR_STRINGS_BY_NAME[_key] = (*VENDOR_STRINGS_BY_NAME.get(_key, ()), _string)


def vendor_name(vendor: str) -> str:
    return VENDOR_NAMES.get(vendor, vendor.strip())


def registers_text(*registers: int) -> str:
    """ASCII of registers, each little-endian, cut at the first NUL."""
    raw = struct.pack(f"<{len(registers)}I", *registers)
    return raw.split(b"\0", 1)[0].decode("latin-1")


def vendor_string(leaf0: Registers) -> str:
    _, ebx, ecx, edx = leaf0
    return registers_text(ebx, edx, ecx)


def family_model_stepping(signature: int) -> tuple[int, int, int]:
    """Display family/model/stepping from CPUID.1:EAX, the same for every vendor string.

    * Family: the extended family is added only when the base family is 0xF (Intel SDM vol. 2A,
      CPUID "Display Family"; AMD APM vol. 3 "Family"; Hygon family 0x18 is 0xF + 9).
    * Model: the extended model is prefixed for every base family of 6 and above, as Linux does
      (``x86_model()`` in ``arch/x86/lib/cpu.c`` adds it when the family is 6 or more); QEMU's
      ``x86_cpuid_version_get_model()`` in ``target/i386/cpu.c`` combines the two fields for
      every family, and its setter splits any model above 15 the same way.  The Intel
      SDM names families 6 and 15 and the AMD APM family 15 only; the two rules agree on every
      Intel and AMD CPU (their extended model is 0 elsewhere), and only the Linux rule gives
      Zhaoxin/Centaur family 7 (KaiXian KX-6000 ``000307B0`` is model 0x3B, not 11) its model.
    """
    stepping = signature & 0xF
    base_model = (signature >> 4) & 0xF
    base_family = (signature >> 8) & 0xF
    ext_model = (signature >> 16) & 0xF
    ext_family = (signature >> 20) & 0xFF
    family = base_family + ext_family if base_family == 0xF else base_family
    model = (ext_model << 4) | base_model if base_family >= 0x6 else base_model
    return family, model, stepping


def max_extended(leaves: Mapping[tuple[int, int], Registers]) -> int:
    """Highest extended leaf, or 0 when the range is not implemented."""
    row = leaves.get((0x80000000, 0))
    if row is None or not 0x80000000 <= row[0] <= 0x8000FFFF:
        return 0
    return row[0]


def identity_from_cpuid(
    leaves: Mapping[tuple[int, int], Registers], max_basic: int, max_ext: int
) -> tuple[Identity, list[str]]:
    """Identity from clamped leaves (rows above the maxima already removed)."""
    warnings: list[str] = []
    vendor = vendor_string(leaves[(0, 0)])
    signature, _, ecx1, edx1 = leaves[(1, 0)]
    family, model, stepping = family_model_stepping(signature)

    brand_raw = ""
    if max_ext >= 0x80000004 and all((leaf, 0) in leaves for leaf in range(0x80000002, 0x80000005)):
        brand_raw = registers_text(
            *(r for leaf in range(0x80000002, 0x80000005) for r in leaves[(leaf, 0)])
        )
    brand = " ".join(brand_raw.split())

    lm = bool(leaves.get((0x80000001, 0), (0, 0, 0, 0))[3] >> 29 & 1)
    if max_ext >= 0x80000008 and (0x80000008, 0) in leaves:
        eax = leaves[(0x80000008, 0)][0]
        phys_bits, virt_bits = eax & 0xFF, (eax >> 8) & 0xFF
    else:
        # What Linux assumes without leaf 0x80000008: 36 bits with PAE or PSE-36, else 32.
        phys_bits = 36 if edx1 >> 6 & 1 or edx1 >> 17 & 1 else 32
        virt_bits = 48 if lm else 32
        warnings.append(
            f"no CPUID leaf 0x80000008: address sizes assumed {phys_bits} bits physical, "
            f"{virt_bits} bits virtual"
        )

    in_vm = bool(ecx1 >> 31 & 1)
    hypervisor_vendor = None
    if in_vm:
        signature_row = leaves.get((0x40000000, 0))
        if signature_row is not None:
            text = registers_text(*signature_row[1:]).strip()
            hypervisor_vendor = HYPERVISOR_NAMES.get(text, text or None)
        where = (
            f"inside a {hypervisor_vendor} virtual machine"
            if hypervisor_vendor
            else "inside a virtual machine"
        )
        warnings.append(
            f"taken {where} (hypervisor bit set): it shows the guest's masked CPU view, "
            "not the host's capabilities"
        )

    identity = Identity(
        vendor=vendor,
        family=family,
        model=model,
        stepping=stepping,
        signature=signature,
        brand=brand,
        brand_raw=brand_raw,
        phys_bits=phys_bits,
        virt_bits=virt_bits,
        max_basic_leaf=max_basic,
        max_extended_leaf=max_ext or None,
        in_vm=in_vm,
        hypervisor_vendor=hypervisor_vendor,
    )
    return identity, warnings
