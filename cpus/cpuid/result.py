"""The one result type every format decodes to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .table import TABLE, Feature

# Bump when a change to the decoder can change what a stored raw report decodes to; the catalog
# re-decodes every stored report when it sees a new version.
DECODER_VERSION = "1.0"

Registers = tuple[int, int, int, int]

VENDOR_KEYS = {"GenuineIntel": "intel", "AuthenticAMD": "amd", "HygonGenuine": "hygon"}


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the CPU is.  Family, model and stepping are the display values (extended fields folded
    in), as /proc/cpuinfo, lscpu and libvirt print them."""

    vendor: str
    family: int | None = None
    model: int | None = None
    stepping: int | None = None
    signature: int | None = None
    brand: str = ""
    brand_raw: str = ""
    phys_bits: int | None = None
    virt_bits: int | None = None
    max_basic_leaf: int | None = None
    max_extended_leaf: int | None = None
    in_vm: bool = False
    hypervisor_vendor: str | None = None

    @property
    def vendor_key(self) -> str:
        """``intel``, ``amd``, ``hygon`` or ``other``."""
        return VENDOR_KEYS.get(self.vendor, "other")

    def to_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "family": self.family,
            "model": self.model,
            "stepping": self.stepping,
            "signature": None if self.signature is None else f"{self.signature:08x}",
            "brand": self.brand,
            "phys_bits": self.phys_bits,
            "virt_bits": self.virt_bits,
            "max_basic_leaf": self.max_basic_leaf,
            "max_extended_leaf": self.max_extended_leaf,
            "in_vm": self.in_vm,
            "hypervisor_vendor": self.hypervisor_vendor,
        }


@dataclass(frozen=True, slots=True)
class DecodedDump:
    """A decoded host report.

    ``feature_mask`` holds the CPU features the report shows present, as a bitmask over
    ``TABLE`` (bit ``feature.index``).  ``unknown_mask`` holds those whose state the report cannot
    tell: leaves the tool did not print, or, for name-based formats, every feature not named.
    ``absent_means_unknown`` is True for name-based formats whose silence proves nothing (an old
    kernel does not name newer bits).
    """

    format: str
    identity: Identity
    feature_mask: int
    unknown_mask: int = 0
    absent_means_unknown: bool = False
    warnings: tuple[str, ...] = ()
    cpuid: Mapping[tuple[int, int], Registers] = field(default_factory=dict)
    msrs: Mapping[int, int] = field(default_factory=dict)
    cpu_count: int = 1
    decoder_version: str = DECODER_VERSION

    @property
    def features(self) -> list[Feature]:
        return TABLE.from_mask(self.feature_mask)

    @property
    def unknown_features(self) -> list[Feature]:
        return TABLE.from_mask(self.unknown_mask)

    @property
    def is_raw(self) -> bool:
        """True when the report carries exact CPUID registers."""
        return bool(self.cpuid)

    def feature_names(self, vocabulary: str = "canonical") -> list[str]:
        """Sorted names in a vocabulary; features that vocabulary has no name for are left out."""
        return sorted(
            name for feature in self.features if (name := feature.name_in(vocabulary)) is not None
        )

    def has(self, name: str) -> bool:
        feature = TABLE.lookup(name)
        return feature is not None and bool(self.feature_mask & feature.mask)

    def to_dict(self, vocabulary: str = "canonical") -> dict:
        return {
            "format": self.format,
            "decoder_version": self.decoder_version,
            **self.identity.to_dict(),
            "features": self.feature_names(vocabulary),
            "unknown": self.absent_means_unknown,
            "unknown_features": sorted(
                name
                for feature in self.unknown_features
                if (name := feature.name_in(vocabulary)) is not None
            ),
            "warnings": list(self.warnings),
            "cpu_count": self.cpu_count,
        }
