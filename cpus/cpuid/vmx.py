"""VMX capability MSRs (0x480-0x491) decoded into QEMU's ``vmx-*`` feature names.

Names and bit positions: QEMU ``target/i386/cpu.c`` ``feature_word_info[]`` entries
``FEAT_VMX_PROCBASED_CTLS``, ``FEAT_VMX_SECONDARY_CTLS``, ``FEAT_VMX_PINBASED_CTLS``,
``FEAT_VMX_EXIT_CTLS``, ``FEAT_VMX_ENTRY_CTLS``, ``FEAT_VMX_MISC``, ``FEAT_VMX_EPT_VPID_CAPS``,
``FEAT_VMX_BASIC`` and ``FEAT_VMX_VMFUNC`` (QEMU 5.0 and later; libvirt's cpu_map uses the same
names from 9.10).  How a raw MSR value becomes a feature word: QEMU ``target/i386/kvm/kvm.c``
``kvm_arch_get_supported_msr_feature``: for the control MSRs (pin-based, processor-based,
secondary, exit, entry) a control is offered when it *can* be one and need not be
(``allowed-1 & ~allowed-0``: high 32 bits and not low 32 bits); every other MSR is read as is.
The ``TRUE_*`` control MSRs (0x48D-0x490) are used when present, as QEMU does, else the
legacy ones (0x481-0x484); Intel SDM vol. 3D appendix A.  The MSRs and names are data:
``data/vmx-msrs.json``.

Pure core: no Django.
"""

from __future__ import annotations

from . import facts
from .facts import hex_int

DATA = facts.path("vmx-msrs.json")
# (MSR index, legacy MSR when TRUE is absent or None, is a control MSR, {bit: name}); the table,
# with QEMU's feature word of each MSR, is data/vmx-msrs.json.
_WORDS: tuple[tuple[int, int | None, bool, dict[int, str]], ...] = tuple(
    (
        hex_int(word["msr"]),
        None if word["legacy_msr"] is None else hex_int(word["legacy_msr"]),
        word["control"],
        {int(bit): name for bit, name in word["bits"].items()},
    )
    for word in facts.load(DATA.name)["words"]
)
VMX_MSRS = frozenset(range(0x480, 0x492))
ALL_NAMES = frozenset(name for *_, bits in _WORDS for name in bits.values())


def _offered(value: int, control: bool) -> int:
    if not control:
        return value
    return (value >> 32) & ~value & 0xFFFFFFFF


def decode(msrs: dict[int, int]) -> frozenset[str] | None:
    """The ``vmx-*`` capabilities the MSR values offer; None when ``msrs`` has no VMX MSR (the
    report does not say, which is not the same as "none")."""
    if not any(index in VMX_MSRS for index in msrs):
        return None
    found: set[str] = set()
    for index, legacy, control, bits in _WORDS:
        value = msrs.get(index)
        if value is None and legacy is not None:
            value = msrs.get(legacy)
        if value is None:
            continue
        word = _offered(value, control)
        found.update(name for bit, name in bits.items() if word >> bit & 1)
    return frozenset(found)


def names_in(features) -> frozenset[str]:
    """The ``vmx-*`` names among ``features`` (libvirt cpu_map / QMP expansion names)."""
    return frozenset(name for name in features if name.startswith("vmx-"))
