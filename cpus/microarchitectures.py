"""Microarchitecture by (vendor, display family, display model): the vendors' published CPUID
signatures.  Used to label CPU models built from uploads; unknown signatures stay blank."""

from __future__ import annotations

_INTEL_FAMILY_6 = {
    0x0F: "Core (Merom)",
    0x16: "Core (Merom)",
    0x17: "Penryn",
    0x1D: "Penryn (Dunnington)",
    0x1A: "Nehalem",
    0x1E: "Nehalem",
    0x2E: "Nehalem-EX",
    0x25: "Westmere",
    0x2C: "Westmere",
    0x2F: "Westmere-EX",
    0x2A: "Sandy Bridge",
    0x2D: "Sandy Bridge",
    0x3A: "Ivy Bridge",
    0x3E: "Ivy Bridge",
    0x3C: "Haswell",
    0x3F: "Haswell",
    0x45: "Haswell",
    0x46: "Haswell",
    0x3D: "Broadwell",
    0x47: "Broadwell",
    0x4F: "Broadwell",
    0x56: "Broadwell",
    0x4E: "Skylake",
    0x5E: "Skylake",
    0x55: "Skylake",
    0x8E: "Kaby Lake",
    0x9E: "Kaby Lake",
    0x6A: "Ice Lake",
    0x6C: "Ice Lake",
    0x7D: "Ice Lake",
    0x7E: "Ice Lake",
    0x8F: "Sapphire Rapids",
    0xCF: "Emerald Rapids",
    0xAD: "Granite Rapids",
}
_AMD = {
    0x0F: "K8",
    0x10: "K10",
    0x11: "K8 (Griffin)",
    0x12: "K10 (Llano)",
    0x14: "Bobcat",
    0x15: "Bulldozer family",
    0x16: "Jaguar",
    0x17: "Zen / Zen 2",
    0x18: "Zen (Hygon Dhyana)",
    0x19: "Zen 3 / Zen 4",
    0x1A: "Zen 5",
}


# Zhaoxin (either vendor string), by (family, model): libcpuid's test tree files the
# KaiXian KX-6640MA (tests/dumps, 000307B0) under "lujiazui".
_ZHAOXIN = {(7, 0x3B): "LuJiaZui"}


def microarchitecture(vendor: str, family: int | None, model: int | None) -> str:
    if family is None:
        return ""
    if vendor in ("CentaurHauls", "  Shanghai  "):
        return _ZHAOXIN.get((family, model), "")
    if vendor == "GenuineIntel" and family == 6 and model is not None:
        return _INTEL_FAMILY_6.get(model, "")
    if vendor in ("AuthenticAMD", "HygonGenuine"):
        if family == 0x17 and model is not None:
            return "Zen 2" if model >= 0x30 else "Zen"
        if family == 0x19 and model is not None:
            return (
                "Zen 4"
                if 0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or model >= 0xA0
                else "Zen 3"
            )
        return _AMD.get(family, "")
    return ""
