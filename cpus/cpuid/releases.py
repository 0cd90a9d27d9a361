"""Which guest CPU models (and feature names) exist in which QEMU and libvirt release.

Data: ``data/qemu-x86-models-by-release.json`` and ``data/libvirt-x86-models-by-release.json``,
copied from the project's reference tables, which were parsed from QEMU's ``target/i386/cpu.c``
(``builtin_x86_defs[]`` and its ``.versions`` arrays), ``target/i386/kvm/kvm-cpu.c``
(``kvm_default_props[]``) and the PC machine files, and from libvirt's ``src/cpu_map/`` at each
release tag (see their ``source`` and ``notes`` keys).

* QEMU: the first x.y.0 release of each built-in model, of each versioned name
  (``Cascadelake-Server-v3`` = v4.2.0; ``NAME-v1`` names exist from the model's
  ``versioned_name_first_release``) and of each alias (``Cascadelake-Server-noTSX``).
* libvirt: the first release of each model; between 4.7.0 and 10.7.0 libvirt was observed only at
  a few points, so many models carry a *range* (``first_release_range``), never an exact release.
* ``kvm_default_props(version)``: what QEMU applies to every built-in model under KVM in the
  newest release not newer than ``version``.

Pure core: no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import facts

DATA = facts.DATA
QEMU_RELEASES = facts.path("qemu-x86-models-by-release.json")
LIBVIRT_RELEASES = facts.path("libvirt-x86-models-by-release.json")

# X86CPUVersionDefinition and the NAME-vN names: QEMU 4.1.0.
VERSIONED_NAMES_SINCE = (4, 1, 0)
_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str | None) -> tuple[int, int, int] | None:
    """``"7.2.0"``, ``"v9.10"``, ``"QEMU emulator version 8.2.2 (Debian ...)"`` -> (7, 2, 0) ...;
    None when ``text`` holds no x.y version."""
    if not text:
        return None
    match = _VERSION.search(str(text))
    if not match:
        return None
    return (int(match[1]), int(match[2]), int(match[3] or 0))


def show(version: tuple[int, ...] | None) -> str:
    return ".".join(map(str, version)) if version else "unknown"


@lru_cache(maxsize=1)
def qemu_table() -> dict:
    return facts.load(QEMU_RELEASES.name)


@lru_cache(maxsize=1)
def libvirt_table() -> dict:
    return facts.load(LIBVIRT_RELEASES.name)


@dataclass(frozen=True)
class Availability:
    """Since when a model name exists in one project.

    ``first``: the first release that has it; when only a range is known, ``first`` is None and
    ``range`` is (lowest possible, highest possible or None when the upper end is unknown).
    ``note``: how the data says so.  ``removed``: the release that dropped it, if any.
    """

    project: str
    name: str
    first: tuple[int, int, int] | None
    range: tuple[tuple[int, int, int] | None, tuple[int, int, int] | None] | None = None
    note: str = ""
    removed: tuple[int, int, int] | None = None

    def describe(self) -> str:
        """In words: ``QEMU 4.2.0``, ``libvirt 5.7.0..8.1.0 (not observed in between)``."""
        if self.first is not None:
            text = f"{self.project} {show(self.first)}"
        elif self.range is not None:
            low, high = self.range
            text = (
                f"{self.project} {show(low)} to {show(high)} (the releases in between were not "
                "observed)"
                if high
                else f"{self.project} {show(low)} or later (exact release not observed)"
            )
        else:
            text = f"{self.project}: release unknown"
        if self.removed:
            text += f", removed in {show(self.removed)}"
        return text

    def on(self, version: tuple[int, int, int] | None) -> bool | None:
        """Does ``version`` have the name?  True, False, or None (unknown: no version, or the
        version falls inside an unobserved range)."""
        if version is None:
            return None
        if self.removed is not None and version >= self.removed:
            return False
        if self.first is not None:
            return version >= self.first
        if self.range is None:
            return None
        low, high = self.range
        if low is not None and version < low:
            return False
        if high is not None and version >= high:
            return True
        return None

    def to_dict(self) -> dict:
        return {
            "project": self.project,
            "name": self.name,
            "first_release": show(self.first) if self.first else None,
            "first_release_range": (
                [show(self.range[0]) if self.range[0] else None, show(self.range[1]) or None]
                if self.range
                else None
            ),
            "removed_in": show(self.removed) if self.removed else None,
            "text": self.describe(),
            "note": self.note,
        }


@lru_cache(maxsize=4096)
def qemu_availability(name: str) -> Availability | None:
    """When QEMU got the model ``name`` (``Cascadelake-Server``, ``Cascadelake-Server-v3``,
    ``Cascadelake-Server-noTSX``); None when no QEMU release has it."""
    models = qemu_table()["models"]
    if name in models:
        entry = models[name]
        removed = entry.get("removed_in")
        if entry.get("alias_of"):
            removed = None  # still a valid name: an alias of a version
        return Availability(
            "QEMU",
            name,
            parse_version(entry["first_release"]),
            removed=parse_version(removed),
            note="built-in model (target/i386/cpu.c builtin_x86_defs)",
        )
    base, dash, number = name.rpartition("-v")
    if dash and number.isdigit() and base in models:
        entry = models[base]
        version = entry.get("versions", {}).get(number)
        if version is None:
            return None
        first = parse_version(version.get("first_release"))
        if number == "1":
            # QEMU registers NAME-v1 for every model from 4.1 on, with or without a .versions
            # array (target/i386/cpu.c x86_cpu_def_get_versions returns a default {1} list;
            # QEMU 7.2's QMP list has e.g. EPYC-Milan-v1, whose .versions array came in 8.1), so
            # the table's versioned_name_first_release is not used for -v1.
            first = max(first, VERSIONED_NAMES_SINCE) if first else None
        return Availability(
            "QEMU",
            name,
            first,
            note=f"version {number} of {base} ({version.get('note') or 'X86CPUVersionDefinition'})",
        )
    for base, entry in models.items():
        for number, version in entry.get("versions", {}).items():
            if version.get("alias") == name:
                return Availability(
                    "QEMU",
                    name,
                    parse_version(version.get("first_release")),
                    note=f"alias of {base}-v{number}",
                )
    return None


def _range(values) -> tuple:
    low, high = (list(values) + [None, None])[:2]
    return (parse_version(low), parse_version(high) if high and "unknown" not in high else None)


@lru_cache(maxsize=4096)
def libvirt_availability(name: str) -> Availability | None:
    """When libvirt's cpu_map got the model ``name``; None when no observed release has it."""
    entry = libvirt_table()["models"].get(name)
    if entry is None:
        return None
    first = parse_version(entry.get("first_release"))
    span = None if first else _range(entry.get("first_release_range") or ())
    return Availability("libvirt", name, first, span, note=entry.get("first_release_note", ""))


def availability(name: str, source: str) -> Availability | None:
    """Since when the guest model ``name`` of catalog ``source`` (``qemu`` or ``libvirt``)
    exists in its project."""
    if source == "qemu":
        return qemu_availability(name)
    if source == "libvirt":
        return libvirt_availability(name)
    return None


@lru_cache(maxsize=256)
def kvm_default_props(version: tuple[int, int, int] | None) -> dict[str, str] | None:
    """QEMU's ``kvm_default_props`` of the newest release not newer than ``version``; None when
    the version is unknown or older than every release in the table."""
    if version is None:
        return None
    table = qemu_table()["kvm_default_props"]
    best = None
    for release in table:
        parsed = parse_version(release)
        if parsed <= version and (best is None or parsed > best[0]):
            best = (parsed, release)
    return dict(table[best[1]]) if best else None


@lru_cache(maxsize=1024)
def qemu_model_vmx(name: str) -> frozenset[str] | None:
    """The ``vmx-*`` capabilities QEMU's model ``name`` gives a nested guest (version 1's
    definition, plus the ``vmx-*`` props of versions 2..N for ``NAME-vN``; an unversioned name is
    version 1, as every machine type since QEMU 5.0 resolves it: ``default_cpu_version``); None
    when the model defines none (QEMU then passes no VMX controls of its own: before 5.1 models
    had no ``vmx-*`` lists) or is unknown."""
    models = qemu_table()["models"]
    base, number = name, 1
    if name not in models:
        stem, dash, digits = name.rpartition("-v")
        if dash and digits.isdigit() and stem in models:
            base, number = stem, int(digits)
        else:
            for stem, entry in models.items():
                for key, version in entry.get("versions", {}).items():
                    if version.get("alias") == name:
                        base, number = stem, int(key)
            if base == name:
                return None
    versions = models[base].get("versions", {})
    features = {f for f in versions.get("1", {}).get("features", ()) if f.startswith("vmx-")}
    for index in range(2, number + 1):
        for prop, value in (versions.get(str(index), {}).get("props") or {}).items():
            if prop.startswith("vmx-"):
                (features.add if value == "on" else features.discard)(prop)
    return frozenset(features) or None


def model_history(names, source: str) -> list[Availability]:
    """Since when each of a catalog model's names exists: QEMU's names (the versioned one and
    its aliases) in QEMU, and the unversioned name in libvirt's cpu_map; libvirt models in
    libvirt.  Names no release table knows are left out."""
    found: list[Availability] = []
    seen = set()
    for name in names:
        for project in ("qemu", "libvirt") if source == "qemu" else (source,):
            lookup = name.rsplit("-v", 1)[0] if project == "libvirt" else name
            if (project, lookup) in seen:
                continue
            seen.add((project, lookup))
            available = availability(lookup, project)
            if available is not None:
                found.append(available)
    return found
