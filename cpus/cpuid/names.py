"""Decoding name-based reports (/proc/cpuinfo, lscpu, libvirt XML, QMP) into the result type.

A name present means the feature is present.  A name absent means *unknown* unless the format
says so explicitly (QMP ``false``, libvirt ``policy='disable'``): an old kernel or libvirt simply
does not know newer bits.
"""

from __future__ import annotations

from collections.abc import Iterable

from .result import DecodedDump, Identity
from .table import LINUX_SYNTHETIC, TABLE

_CPU_MASK = TABLE.cpu_feature_mask
_HYPERVISOR = TABLE.by_name["hypervisor"]


def resolve(
    names: Iterable[str], vocabulary: str, ignore: frozenset[str] = frozenset()
) -> tuple[int, bool, list[str]]:
    """(mask, hypervisor bit seen, unrecognised names) for names of one vocabulary."""
    mask = 0
    hypervisor = False
    unrecognised = []
    for name in names:
        if name in ignore:
            continue
        feature = TABLE.lookup(name, vocabulary)
        if feature is None:
            unrecognised.append(name)
            continue
        if feature is _HYPERVISOR:
            hypervisor = True
        mask |= feature.mask
    return mask, hypervisor, unrecognised


def decode_names(
    *,
    format_name: str,
    identity: Identity,
    present: int,
    absent: int = 0,
    unrecognised: Iterable[str] = (),
    warnings: Iterable[str] = (),
    complete_for: int = 0,
) -> DecodedDump:
    """Build the result of a name-based report.

    ``present``/``absent`` are masks of what the report states; ``complete_for`` is the mask of
    features the format always states one way or the other (their silence means absent).
    """
    notes = list(warnings)
    unrecognised = sorted(set(unrecognised))
    if unrecognised:
        notes.append(
            f"{len(unrecognised)} names are not CPUID feature bits the knowledge base tracks and "
            f"were ignored: {' '.join(unrecognised)}"
        )
    present &= _CPU_MASK
    unknown = _CPU_MASK & ~present & ~absent & ~complete_for
    absent_means_unknown = not complete_for
    if absent_means_unknown:
        notes.append(
            "this format lists feature names, not CPUID bits: a feature it does not name is "
            "unknown, not absent (older kernels and libvirt releases do not know newer bits)"
        )
    if identity.in_vm:
        where = (
            f"a {identity.hypervisor_vendor} virtual machine"
            if identity.hypervisor_vendor
            else "a virtual machine"
        )
        notes.append(
            f"taken inside {where}: it shows the guest's masked CPU view, "
            "not the host's capabilities"
        )
    return DecodedDump(
        format=format_name,
        identity=identity,
        feature_mask=present,
        unknown_mask=unknown,
        absent_means_unknown=absent_means_unknown,
        warnings=tuple(notes),
    )


def ignored_linux_names(vendor: str) -> frozenset[str]:
    """Linux flags to ignore quietly; ``vnmi`` is a VMX capability on Intel, a CPUID bit on AMD."""
    if vendor == "GenuineIntel":
        return LINUX_SYNTHETIC | {"vnmi"}
    return LINUX_SYNTHETIC


VENDOR_NAMES = {
    "intel": "GenuineIntel",
    "amd": "AuthenticAMD",
    "hygon": "HygonGenuine",
    "genuineintel": "GenuineIntel",
    "authenticamd": "AuthenticAMD",
    "hygongenuine": "HygonGenuine",
}


def vendor_from_name(name: str) -> str:
    """libvirt writes ``Intel``/``AMD``/``Hygon``; keep any other vendor verbatim."""
    return VENDOR_NAMES.get(name.strip().lower(), name.strip())
