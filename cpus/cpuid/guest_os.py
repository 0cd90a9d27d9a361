"""Guest operating systems and the CPU floor each release documents (data/guest-os.json).

A floor is an x86-64 psABI level (``x86-64-v2``: data/x86-64-levels.json) plus the features a
vendor names on top (Windows Server 2025: POPCNT and SSE4.2).  ``blockers(guest_mask, os)``
says what a guest CPU lacks to boot a release; each release carries the document it comes from
and whether the vendor publishes a floor at all (``published``: False means only the x86-64
architecture itself, x86-64-v1, is assumed).

Pure core: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from . import facts, guest_models
from .baseline import names
from .policies.base import Reason
from .table import TABLE

DATA = facts.path("guest-os.json")


@dataclass(frozen=True)
class GuestOs:
    id: str
    name: str
    family: str
    level: str
    features: tuple[str, ...]
    published: bool
    source: str
    also: tuple[str, ...]
    floor_mask: int

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "family": self.family,
            "level": self.level,
            "features": list(self.features),
            "published": self.published,
            "also": list(self.also),
            "source": self.source,
            "floor": names(self.floor_mask),
        }


@cache
def catalog() -> tuple[GuestOs, ...]:
    document = facts.load(DATA.name)
    releases = []
    for entry in document["releases"]:
        level = guest_models.find(entry["level"])
        if level is None or level.source != "x86-64-level":
            raise ValueError(f"guest-os.json {entry['id']}: unknown level {entry['level']!r}")
        mask = level.feature_mask
        for feature_name in entry["features"]:
            feature = TABLE.lookup(feature_name, document["vocabulary"])
            if feature is None:
                raise ValueError(f"guest-os.json {entry['id']}: unknown feature {feature_name!r}")
            mask |= feature.mask
        releases.append(
            GuestOs(
                id=entry["id"],
                name=entry["name"],
                family=entry["family"],
                level=entry["level"],
                features=tuple(entry["features"]),
                published=entry["published"],
                source=entry["source"],
                also=tuple(entry.get("also", ())),
                floor_mask=mask,
            )
        )
    return tuple(releases)


def ids() -> list[str]:
    return [release.id for release in catalog()]


def find(key: str) -> GuestOs | None:
    """A release by id (``rhel-10``), name (``RHEL 10``) or a name in ``also``
    (``Rocky Linux 9``), case-insensitive."""
    wanted = key.strip().lower()
    for release in catalog():
        if wanted in (release.id, release.name.lower(), *(a.lower() for a in release.also)):
            return release
    return None


def get(key: str) -> GuestOs:
    release = find(key)
    if release is None:
        raise ValueError(f"unknown guest OS {key!r}; use one of {', '.join(ids())}")
    return release


def lacking(guest_mask: int, release: GuestOs) -> int:
    """The floor features the guest CPU does not show."""
    return release.floor_mask & ~guest_mask


def reasons(guest_mask: int, release: GuestOs, what: str = "this guest CPU") -> list[Reason]:
    """A blocker when ``guest_mask`` is below the release's floor, else an info."""
    missing = lacking(guest_mask, release)
    if missing:
        listed = names(missing)
        return [
            Reason(
                "features",
                "blocker",
                f"{release.name} will not boot on {what}: it lacks {', '.join(listed)} "
                f"({release.name} needs {release.level}"
                + (f" plus {', '.join(release.features)}" if release.features else "")
                + f"; {release.source})",
                tuple(listed),
            )
        ]
    floor = "its documented floor" if release.published else "the x86-64 baseline"
    return [
        Reason(
            "features",
            "info",
            f"{release.name} can boot on {what}: it has {floor} ({release.level}"
            + (f" plus {', '.join(release.features)}" if release.features else "")
            + ")",
        )
    ]


def runnable(guest_mask: int) -> list[dict]:
    """Every release of the catalog with whether ``guest_mask`` meets its floor."""
    return [
        {
            "id": release.id,
            "name": release.name,
            "runs": not lacking(guest_mask, release),
            "missing": names(lacking(guest_mask, release)),
            "published": release.published,
        }
        for release in catalog()
    ]
