"""Named guest CPU models of every source, as plain data.

``all_guest_models()`` is the one list the rest of the project reads (the catalog seeds its
``GuestCpuModel`` table from it; the compatibility engine resolves guest CPU names with
``find``).  Four sources:

``qemu``          QEMU 7.2's x86 models (``data/qemu-7.2-cpu-models.json``: the reply of
                  ``query-cpu-definitions`` and a static ``query-cpu-model-expansion`` per model).
                  One entry per *versioned* model (``Opteron_G2-v1``); the unversioned names that
                  QEMU resolves to that version (``Opteron_G2``) are its ``aliases``.  ``host``,
                  ``max`` and ``base`` are left out: their expansion describes the machine the data
                  was captured on (or nothing), not a model.
``libvirt``       libvirt 9.0's ``cpu_map`` models (``cpu_map.load()``).
``vmware-evc``    VMware EVC baselines (``data/vmware-evc.json``; each mode says where its feature
                  list comes from).  Modes whose features cannot be derived have no entry here.
``x86-64-level``  the x86-64 psABI micro-architecture levels v1..v4 (``data/x86-64-levels.json``),
                  cumulative, vendor-neutral.
``proxmox``       Proxmox VE's own CPU types (``x86-64-v2-AES``, its web interface's default, the
                  other ``x86-64-v*`` types and its ``kvm64``), as qemu-server's CPUConfig.pm
                  builds them: the QEMU model it reports plus its flags
                  (``data/proxmox-cpu-models.json``).  Vendor-neutral: Proxmox gives them the
                  host's vendor.  ``x86-64-v2`` alone still means the psABI level (earlier
                  sources win a name); ``proxmox:x86-64-v2`` selects Proxmox's type.

Feature masks are over ``TABLE`` and hold CPU features only: the hypervisor bit that QEMU's
expansions list and OS-state bits are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from . import cpu_map, facts
from .table import TABLE

DATA = facts.DATA
QEMU_DATA = facts.path("qemu-7.2-cpu-models.json")
EVC_DATA = facts.path("vmware-evc.json")
LEVELS_DATA = facts.path("x86-64-levels.json")
PROXMOX_DATA = facts.path("proxmox-cpu-models.json")

SOURCES = ("qemu", "libvirt", "vmware-evc", "x86-64-level", "proxmox")
_NOT_MODELS = frozenset({"host", "max", "base"})
_CPU_MASK = TABLE.cpu_feature_mask


@dataclass(frozen=True, slots=True)
class GuestModel:
    """One named guest CPU model.

    ``name`` is the model's own name in its source (QEMU: the versioned name); ``aliases`` are
    other names that select exactly this model.  ``vendor`` is the CPUID vendor string the guest
    sees (None for vendor-neutral models).  ``extends`` lists, for EVC modes, the modes this one
    is documented to build on (the partial order's edges).  ``vcenter_name`` is the name
    vCenter shows for an EVC mode (``Intel "Penryn" Generation``); empty for other sources.
    """

    name: str
    source: str
    vendor: str | None
    feature_mask: int
    aliases: tuple[str, ...] = ()
    version: str | None = None
    migration_safe: bool = True
    deprecated: bool = False
    origin: str = ""
    label: str = ""
    extends: tuple[str, ...] = ()
    vcenter_name: str = ""

    @property
    def display_name(self) -> str:
        """The name to show and export: the shortest alias (``Opteron_G2``), else ``name``."""
        return min((self.name, *self.aliases), key=lambda n: (len(n), n))

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def feature_names(self, vocabulary: str = "canonical") -> list[str]:
        return sorted(
            name for f in TABLE.from_mask(self.feature_mask) if (name := f.name_in(vocabulary))
        )

    def to_dict(self, vocabulary: str = "canonical") -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "vendor": self.vendor,
            "aliases": list(self.aliases),
            "version": self.version,
            "migration_safe": self.migration_safe,
            "deprecated": self.deprecated,
            "origin": self.origin,
            "label": self.label,
            "vcenter_name": self.vcenter_name,
            "features": self.feature_names(vocabulary),
        }


def _mask(names, vocabulary: str, where: str) -> int:
    mask = 0
    for name in names:
        feature = TABLE.lookup(name, vocabulary)
        if feature is None:
            raise ValueError(f"{where}: {vocabulary} feature {name!r} is not in the feature table")
        mask |= feature.mask
    return mask & _CPU_MASK


def qemu_models(document: dict | None = None) -> list[GuestModel]:
    """QEMU's models from the bundled 7.2 snapshot, or from ``document`` (the same shape, as
    ``qemu_probe.probe`` returns it for a local QEMU)."""
    document = document or facts.load(QEMU_DATA.name)
    definitions = document["definitions"]
    aliases: dict[str, list[str]] = {}
    for name, definition in definitions.items():
        if "alias-of" in definition:
            aliases.setdefault(definition["alias-of"], []).append(name)
    version = document.get("qemu_version") or {}
    package = version.get("package") or ".".join(
        str(version.get("qemu", {}).get(part, "?")) for part in ("major", "minor", "micro")
    )
    origin = f"QEMU {package}: {document['source']}"
    models = []
    for name, definition in sorted(definitions.items()):
        if "alias-of" in definition or name in _NOT_MODELS:
            continue
        expansion = document["static_expansion"][name]
        version = name.rsplit("-v", 1)[1] if "-v" in name else None
        models.append(
            GuestModel(
                name=name,
                source="qemu",
                vendor=expansion["props"].get("vendor"),
                feature_mask=_mask(expansion["features"], "qemu", f"QEMU model {name}"),
                aliases=tuple(sorted(aliases.get(name, ()))),
                version=version,
                migration_safe=bool(definition.get("migration-safe")),
                deprecated=bool(definition.get("deprecated")),
                origin=origin,
                label=expansion["props"].get("model-id", ""),
            )
        )
    return models


def libvirt_models(directory: str | None = None) -> list[GuestModel]:
    """libvirt's models from the bundled 9.0 cpu_map, or from an installed cpu_map directory."""
    return [
        GuestModel(
            name=model.name,
            source="libvirt",
            vendor=model.vendor,
            feature_mask=TABLE.mask_of(model.table_features()) & _CPU_MASK,
            origin=f"libvirt {'9.0' if directory is None else directory} {model.source}",
        )
        for model in sorted(cpu_map.load(directory).values(), key=lambda m: m.name)
    ]


def evc_modes() -> list[GuestModel]:
    """EVC modes with a feature list; modes VMware has but we cannot derive are left out."""
    document = facts.load(EVC_DATA.name)
    return [
        GuestModel(
            name=mode["key"],
            source="vmware-evc",
            vendor=mode["vendor"],
            feature_mask=_mask(mode["features"], document["vocabulary"], mode["key"]),
            origin=mode["source"],
            label=mode["label"],
            extends=tuple(mode["extends"]),
            vcenter_name=mode["vcenter_name"],
        )
        for mode in document["modes"]
        if mode["features"] is not None
    ]


@cache
def evc_vcenter_names() -> dict[str, str]:
    """Every EVC mode key we know (derivable or not) -> vCenter's display name, VMware's order."""
    return {mode["key"]: mode["vcenter_name"] for mode in facts.load(EVC_DATA.name)["modes"]}


def evc_mode_keys() -> list[str]:
    """Every EVC mode key we know, derivable or not, in VMware's order."""
    return [mode["key"] for mode in facts.load(EVC_DATA.name)["modes"]]


def x86_64_levels() -> list[GuestModel]:
    document = facts.load(LEVELS_DATA.name)
    models = []
    mask = 0
    for level in document["levels"]:
        mask |= _mask(level["features"], document["vocabulary"], level["name"])
        models.append(
            GuestModel(
                name=level["name"],
                source="x86-64-level",
                vendor=None,
                feature_mask=mask,
                origin=document["source"],
                extends=(models[-1].name,) if models else (),
            )
        )
    return models


@cache
def proxmox_data() -> dict:
    return facts.load(PROXMOX_DATA.name)


def proxmox_types(qemu: list[GuestModel] | None = None) -> list[GuestModel]:
    """Proxmox VE's built-in CPU types: the reported QEMU model's features plus the flags
    qemu-server adds (PVE/QemuServer/CPUConfig.pm ``$builtin_models`` and
    ``get_pve_cpu_flags``)."""
    document = proxmox_data()
    by_name = {name: model for model in (qemu or qemu_models()) for name in model.names}
    models = []
    for name, spec in document["builtin_types"].items():
        base = by_name[spec["reported-model"]]
        flags = [f for f in spec["flags"].split(";") if f]
        plus = _mask([f[1:] for f in flags if f[0] == "+"], "qemu", f"Proxmox {name}")
        minus = _mask([f[1:] for f in flags if f[0] == "-"], "qemu", f"Proxmox {name}")
        models.append(
            GuestModel(
                name=name,
                source="proxmox",
                vendor=None,
                feature_mask=(base.feature_mask | plus) & ~minus,
                origin=f"{document['source']}: {spec['reported-model']} + {spec['flags']}",
                label=spec.get("note", ""),
            )
        )
    return models


@cache
def _all() -> tuple[GuestModel, ...]:
    qemu = qemu_models()
    return (*qemu, *libvirt_models(), *evc_modes(), *x86_64_levels(), *proxmox_types(qemu))


def all_guest_models(
    *, qemu_document: dict | None = None, libvirt_cpu_map: str | None = None
) -> list[GuestModel]:
    """Every named guest CPU model of every source: QEMU, libvirt, VMware EVC, x86-64 levels.

    By default from the bundled snapshots (which the engine always uses); a QMP answer of a
    local QEMU or an installed libvirt cpu_map replace them for the catalog."""
    if qemu_document is None and libvirt_cpu_map is None:
        return list(_all())
    qemu = qemu_models(qemu_document)
    return [
        *qemu,
        *libvirt_models(libvirt_cpu_map),
        *evc_modes(),
        *x86_64_levels(),
        *proxmox_types(qemu),
    ]


def models_of(source: str) -> list[GuestModel]:
    if source not in SOURCES:
        raise ValueError(f"unknown model source {source!r}; use one of {SOURCES}")
    return [model for model in _all() if model.source == source]


@cache
def _index() -> dict[str, GuestModel]:
    index: dict[str, GuestModel] = {}
    # Earlier sources win a name clash: QEMU's Penryn is what a KVM guest actually runs.
    for model in _all():
        for name in model.names:
            index.setdefault(name, model)
            index.setdefault(name.lower(), model)
    return index


def find(name: str) -> GuestModel | None:
    """The model a name selects (QEMU first, then libvirt, EVC keys, x86-64 levels, Proxmox
    types), or None.

    ``libvirt:Penryn`` or ``qemu:Penryn`` picks a source explicitly.
    """
    source, _, bare = name.strip().rpartition(":")
    if source:
        for model in models_of(source):
            if bare in model.names or bare.lower() in (n.lower() for n in model.names):
                return model
        return None
    index = _index()
    return index.get(bare) or index.get(bare.lower())
