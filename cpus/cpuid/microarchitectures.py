"""Microarchitecture by (vendor, display family, display model), to label the CPU models built from
uploads; an unknown signature stays blank.

The tables (Intel family 6 models, AMD families and the Zen model ranges, Zhaoxin models, each
with its source) are data: ``data/microarchitectures.json``, read through ``facts``.

Pure core: no Django.
"""

from __future__ import annotations

from functools import cache

from . import facts
from .facts import hex_int

DATA = facts.path("microarchitectures.json")


@cache
def _tables() -> dict:
    data = facts.load(DATA.name)
    intel, amd, zhaoxin = data["intel"], data["amd"], data["zhaoxin"]
    return {
        "intel_vendors": frozenset(intel["vendors"]),
        "intel_family": hex_int(intel["family"]),
        "intel_models": {hex_int(row["model"]): row["name"] for row in intel["models"]},
        "amd_vendors": frozenset(amd["vendors"]),
        "amd_families": {hex_int(row["family"]): row["name"] for row in amd["families"]},
        "amd_ranges": tuple(
            (hex_int(row["family"]), tuple(_range(pair) for pair in row["ranges"]), row["name"])
            for row in amd["model_ranges"]
        ),
        "zhaoxin_vendors": frozenset(zhaoxin["vendors"]),
        "zhaoxin_models": {
            (hex_int(row["family"]), hex_int(row["model"])): row["name"]
            for row in zhaoxin["models"]
        },
    }


def _range(pair: list) -> tuple[int, int | None]:
    """``["0x30", null]`` -> (0x30, None): first and last model, inclusive; None is open-ended."""
    low, high = pair
    return hex_int(low), None if high is None else hex_int(high)


def microarchitecture(vendor: str, family: int | None, model: int | None) -> str:
    if family is None:
        return ""
    tables = _tables()
    if vendor in tables["zhaoxin_vendors"]:
        return tables["zhaoxin_models"].get((family, model), "")
    if vendor in tables["intel_vendors"] and family == tables["intel_family"] and model is not None:
        return tables["intel_models"].get(model, "")
    if vendor in tables["amd_vendors"]:
        if model is not None:
            for range_family, ranges, name in tables["amd_ranges"]:
                if range_family == family and any(
                    low <= model and (high is None or model <= high) for low, high in ranges
                ):
                    return name
        return tables["amd_families"].get(family, "")
    return ""
