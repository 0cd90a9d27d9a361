"""libvirt's CPU map: named guest CPU models and their features (libvirt vocabulary).

The libvirt 9.0 map ships in ``data/libvirt-9.0-cpu_map``; ``load(directory)`` reads another
copy, such as an installed ``/usr/share/libvirt/cpu_map``.  Features marked ``removed='yes'``
are no longer part of a model (libvirt keeps them only to describe old guests).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import defusedxml.ElementTree as SafeET

from . import facts
from .errors import DumpParseError
from .table import TABLE, Feature

BUNDLED = facts.path("libvirt-9.0-cpu_map")


@dataclass(frozen=True)
class LibvirtModel:
    name: str
    vendor: str | None
    features: frozenset[str]
    removed: frozenset[str]
    signatures: tuple[tuple[int, int], ...]
    source: str
    # <decode host='on|off' guest='on|off'/>: whether libvirt's x86Decode may pick the model
    # to describe a host CPU or a guest CPU (a baseline is a guest CPU).
    decode_host: bool = True
    decode_guest: bool = True
    # Position in index.xml: x86Decode walks the models newest (last) first.
    order: int = 0

    def table_features(self) -> list[Feature]:
        return [f for name in sorted(self.features) if (f := TABLE.lookup(name, "libvirt"))]


@lru_cache(maxsize=4)
def load(directory: str | None = None) -> dict[str, LibvirtModel]:
    base = Path(directory) if directory else BUNDLED
    vendors = {}
    vendors_file = base / "x86_vendors.xml"
    if vendors_file.exists():
        for vendor in SafeET.parse(vendors_file).getroot().iter("vendor"):
            vendors[vendor.get("name")] = vendor.get("string")
    raw: dict[str, tuple] = {}
    decode: dict[str, tuple[bool, bool]] = {}
    index = base / "index.xml"
    files = (
        [
            include.get("filename")
            for include in SafeET.parse(index).getroot().iter("include")
            if include.get("filename", "").startswith("x86_")
        ]
        if index.exists()
        else sorted(p.name for p in base.glob("x86_*.xml"))
    )
    order: dict[str, int] = {}
    for path in (base / name for name in files):
        if not path.exists():
            continue
        if path.name in ("x86_features.xml", "x86_vendors.xml"):
            continue
        for model in SafeET.parse(path).getroot().iter("model"):
            name = model.get("name")
            if name is None or model.find("feature") is None and model.find("model") is None:
                continue
            vendor_element = model.find("vendor")
            parent = model.find("model")
            features = {
                f.get("name") for f in model.findall("feature") if f.get("removed") != "yes"
            }
            removed = {f.get("name") for f in model.findall("feature") if f.get("removed") == "yes"}
            signatures = tuple(
                (int(s.get("family")), int(s.get("model"))) for s in model.findall("signature")
            )
            element = model.find("decode")
            decode[name] = (
                element is None or element.get("host") != "off",
                element is None or element.get("guest") != "off",
            )
            order.setdefault(name, len(order))
            raw[name] = (
                vendors.get(vendor_element.get("name"), vendor_element.get("name"))
                if vendor_element is not None
                else None,
                parent.get("name") if parent is not None else None,
                features,
                removed,
                signatures,
                f"libvirt cpu_map {path.name}",
            )

    def resolve(name: str, depth: int = 0) -> LibvirtModel:
        vendor, parent, features, removed, signatures, source = raw[name]
        if parent and depth < 8:
            base_model = resolve(parent, depth + 1)
            features = (set(base_model.features) | features) - removed
            vendor = vendor or base_model.vendor
        return LibvirtModel(
            name,
            vendor,
            frozenset(features),
            frozenset(removed),
            signatures,
            source,
            *decode[name],
            order[name],
        )

    return {name: resolve(name) for name in raw}


def expand(model_name: str, line: int | None = None) -> LibvirtModel:
    models = load()
    if model_name not in models:
        raise DumpParseError(
            f"unknown libvirt CPU model {model_name!r} (not in libvirt 9.0's cpu_map)", line
        )
    return models[model_name]
