"""Where can this VM go?  One VM's guest CPU, from its current host, against many hosts.

``run(guest_cpu, source, destinations, hypervisor)`` ranks every destination: the verdict
(``compat.check``'s, computed as one source row of the numpy matrix, so 10,000 hosts cost one
row), the missing features and the reasons (``compat.check`` once per distinct destination
class), and ``widen``: the single change to the guest CPU that would make the most further
hosts safe (removing one feature the blocked hosts lack, or the pool baseline model), found by
re-running the row with each candidate.  ``guest_os`` adds the release's CPU floor: a guest CPU
below it blocks every destination (the guest would not boot anywhere).

Pure core: no Django.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import baseline as pool_baseline
from . import compat, guest_os, matrix
from .baseline import HostView, host_view
from .compat import BASELINE, GuestCpu, parse_guest_cpu
from .levels import LEVELS, SAFE_LEVELS
from .result import DecodedDump

RANK = {level: i for i, level in enumerate(LEVELS)}
# compat.check (full reasons) runs once per distinct destination class, up to this many.
MAX_DETAILED_CLASSES = 200
# Candidate single-feature removals tried for ``widen``.
MAX_CANDIDATES = 4


# Up to this many destinations each carry their reasons inline; beyond it, only ``classes``
# (one entry per distinct destination class) does, and each destination names its class.
INLINE_REASONS = 1000
# Pools above this size are reduced to one host per class for the baseline (``reduced_pool``).
EXACT_POOL = 200


class PreflightError(ValueError):
    """A pre-flight question that cannot be answered as asked (no destination, a guest CPU that
    needs the source host, too many distinct CPUs without one, an unknown hypervisor)."""


@dataclass
class Destination:
    index: int
    label: str
    verdict: str
    missing_count: int
    klass: int
    missing: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    detailed: bool = True

    def to_dict(self, inline: bool = True) -> dict:
        entry = {
            "host": self.label,
            "verdict": self.verdict,
            "missing_count": self.missing_count,
            "class": self.klass,
        }
        if inline:
            entry.update(missing=self.missing, reasons=self.reasons, detailed=self.detailed)
        return entry


@dataclass
class Preflight:
    guest_cpu: str
    hypervisor: str
    source: str
    destinations: list[Destination]
    widen: dict | None
    guest_os: dict | None = None
    classes: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> dict:
        counts = Counter(d.verdict for d in self.destinations)
        return {level: counts.get(level, 0) for level in LEVELS}

    @property
    def safe(self) -> list[str]:
        return [d.label for d in self.destinations if d.verdict in SAFE_LEVELS]

    def to_dict(self) -> dict:
        inline = len(self.destinations) <= INLINE_REASONS
        return {
            "guest_cpu": self.guest_cpu,
            "hypervisor": self.hypervisor,
            "source": self.source,
            "counts": self.counts,
            "guest_os": self.guest_os,
            "widen": self.widen,
            "reasons_inline": inline,
            "classes": self.classes,
            "destinations": [d.to_dict(inline) for d in self.destinations],
        }


@dataclass
class _Classes:
    """The distinct host classes of [source, *destinations] (matrix.classes_of), computed once."""

    representatives: list[HostView]
    members: np.ndarray

    @classmethod
    def of(cls, views: Sequence[HostView]) -> _Classes:
        return cls(*matrix.classes_of(views))


def reduced_pool(views: Sequence[HostView], classes: _Classes | None = None) -> list[HostView]:
    """A small pool with the same baseline *guest* as ``views``: one host per class, plus copies
    so that the vendors keep their order by host count (the fitted model pins the majority
    vendor; ``baseline._majority``).  What a guest CPU resolves to reads only the common
    features, the address width, the fitted models and the EVC modes of the pool
    (``policies.*.resolve``), none of which depends on how many hosts share a class; only the
    baseline's notes (host labels) and host count differ.  Small pools are returned as given."""
    if len(views) <= EXACT_POOL:
        return list(views)
    classes = classes or _Classes.of(views)
    representatives = classes.representatives
    hosts_per_vendor = Counter(view.identity.vendor for view in views)
    classes_per_vendor = Counter(view.identity.vendor for view in representatives)
    floor = max(classes_per_vendor.values())
    ranks = sorted(set(hosts_per_vendor.values()))
    pool = list(representatives)
    for vendor, count in hosts_per_vendor.items():
        first = next(view for view in representatives if view.identity.vendor == vendor)
        target = floor + ranks.index(count)
        pool += [first] * (target - classes_per_vendor[vendor])
    return pool


def row(
    guest: GuestCpu,
    classes: _Classes,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Levels and missing counts of the source (view 0) against every view: one matrix row over
    the distinct host classes, expanded to the views."""
    source_class = int(classes.members[0])
    levels, missing = matrix.class_matrix(
        classes.representatives,
        guest,
        hypervisor,
        pool_result,
        rows=(source_class, source_class + 1),
    )
    return levels[0][classes.members], missing[0][classes.members]


# Without a source, each destination class gets its own compat.check: at most this many.
MAX_CLASSES_WITHOUT_SOURCE = 2000


def run_without_source(
    guest_cpu: str | GuestCpu,
    destinations: Sequence[HostView | DecodedDump],
    hypervisor: str = "kvm",
    *,
    labels: Sequence[str] | None = None,
    guest_os_key: str | None = None,
    vocabulary: str = "canonical",
) -> Preflight:
    """Where a VM with a *named* guest CPU (a model, an EVC mode, x86-64-vN) could start and
    run: each destination D as ``compat.check(D, D)``.  Without a source the answer cannot say
    whether a running VM can move (host-passthrough and host-model take the source's CPU), so
    those modes are refused."""
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    if guest.mode not in (compat.MODEL,):
        raise PreflightError(
            f"a {guest.mode} guest CPU depends on the VM's current host: give the source host"
        )
    release = guest_os.get(guest_os_key) if guest_os_key else None
    views = [host_view(d) for d in destinations]
    if not views:
        raise PreflightError("no destination host")
    classes = _Classes.of(views)
    if len(classes.representatives) > MAX_CLASSES_WITHOUT_SOURCE:
        raise PreflightError(
            f"more than {MAX_CLASSES_WITHOUT_SOURCE} distinct CPUs without a source host: give "
            "the source"
        )
    names = list(labels) if labels else [v.label or str(i) for i, v in enumerate(views)]
    os_reason = None
    if release is not None:
        resolved = compat.resolve_guest(guest, views[0], hypervisor)
        os_reason = guest_os.reasons(resolved.feature_mask, release)[0]
    class_list = []
    for representative in classes.representatives:
        verdict = compat.check(
            representative,
            representative,
            guest,
            hypervisor,
            vocabulary=vocabulary,
            suggest=False,
        )
        reasons = [r.to_dict() for r in verdict.reasons]
        level = verdict.verdict
        if os_reason is not None and os_reason.severity == "blocker":
            reasons.insert(0, os_reason.to_dict())
            level = "blocked"
        class_list.append({"verdict": level, "missing": verdict.missing, "reasons": reasons})
    out = []
    for index, klass in enumerate(classes.members.tolist()):
        entry = class_list[klass]
        out.append(
            Destination(
                index,
                names[index],
                entry["verdict"],
                len(entry["missing"]),
                klass,
                entry["missing"],
                entry["reasons"],
            )
        )
    out.sort(key=lambda d: (RANK[d.verdict], d.label))
    os_answer = None
    if os_reason is not None:
        os_answer = {
            "id": release.id,
            "name": release.name,
            "boots": os_reason.severity != "blocker",
            "reason": os_reason.to_dict(),
        }
    return Preflight(guest.spec, hypervisor, "", out, None, os_answer, class_list)


def run(
    guest_cpu: str | GuestCpu,
    source: HostView | DecodedDump,
    destinations: Sequence[HostView | DecodedDump],
    hypervisor: str = "kvm",
    *,
    labels: Sequence[str] | None = None,
    pool: Sequence[HostView | DecodedDump] | None = None,
    guest_os_key: str | None = None,
    vocabulary: str = "canonical",
    widen: bool = True,
) -> Preflight:
    """Rank ``destinations`` for a VM running ``guest_cpu`` on ``source``.  ``pool`` (default:
    the source and every destination) defines ``baseline``."""
    if hypervisor not in compat.HYPERVISORS:
        raise PreflightError(f"unknown hypervisor {hypervisor!r}; use one of {compat.HYPERVISORS}")
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    release = guest_os.get(guest_os_key) if guest_os_key else None
    source_view = host_view(source)
    views = [source_view, *(host_view(d) for d in destinations)]
    classes = _Classes.of(views)
    if pool is None:
        pool_views = reduced_pool(views, classes)
    else:
        pool_views = reduced_pool([host_view(p) for p in pool])
    pool_result = pool_baseline.compute(pool_views) if guest.mode == BASELINE else None
    levels, missing = row(guest, classes, hypervisor, pool_result)
    names = list(labels) if labels is not None else []
    names = names or [v.label or str(i) for i, v in enumerate(views[1:])]
    os_block = None
    os_answer = None
    if release is not None:
        resolved = compat.resolve_guest(guest, source_view, hypervisor, pool_result)
        os_reason = guest_os.reasons(resolved.feature_mask, release)[0]
        os_answer = {
            "id": release.id,
            "name": release.name,
            "boots": os_reason.severity != "blocker",
            "reason": os_reason.to_dict(),
        }
        if os_reason.severity == "blocker":
            os_block = os_reason
    # Full reasons: compat.check once per distinct destination class.
    detail: dict[int, tuple[compat.Verdict, list[str], list[dict]]] = {}
    class_ids: dict[int, int] = {}
    class_list: list[dict] = []
    members = classes.members
    for position in range(1, len(views)):
        klass = int(members[position])
        if klass in class_ids or len(detail) >= MAX_DETAILED_CLASSES:
            continue
        verdict = compat.check(
            source_view,
            views[position],
            guest,
            hypervisor,
            pool=pool_views if guest.mode == BASELINE else None,
            vocabulary=vocabulary,
            suggest=False,
        )
        reasons = [r.to_dict() for r in verdict.reasons]
        if os_block is not None:
            reasons.insert(0, os_block.to_dict())
        detail[klass] = (verdict, verdict.missing, reasons)
        class_ids[klass] = len(class_list)
        class_list.append(
            {
                "verdict": "blocked" if os_block is not None else verdict.verdict,
                "missing": verdict.missing,
                "reasons": reasons,
            }
        )
    destinations_out = []
    for position in range(1, len(views)):
        klass = int(members[position])
        verdict = "blocked" if os_block is not None else LEVELS[int(levels[position])]
        found = detail.get(klass)
        entry = Destination(
            position - 1,
            names[position - 1],
            verdict,
            int(missing[position]),
            class_ids.get(klass, -1),
        )
        if found is not None:
            entry.missing, entry.reasons = found[1], found[2]
        else:
            entry.detailed = False
        destinations_out.append(entry)
    destinations_out.sort(key=lambda d: (RANK[d.verdict], d.missing_count, d.label))
    suggestion = None
    if widen and os_block is None:
        suggestion = _widen(guest, classes, hypervisor, pool_views, levels, detail)
    return Preflight(
        guest.spec,
        hypervisor,
        source_view.label,
        destinations_out,
        suggestion,
        os_answer,
        class_list,
    )


def _safe_count(levels: np.ndarray) -> int:
    return int(np.count_nonzero(levels[1:] <= RANK["safe-with-model"]))


def _widen(guest, classes, hypervisor, pool_views, levels, detail) -> dict | None:
    """The one guest CPU change that makes the most further destinations safe, or None."""
    now = _safe_count(levels)
    if now == len(classes.members) - 1:
        return None
    frequency: Counter = Counter()
    members = classes.members
    blocked = np.flatnonzero(levels[1:] == RANK["blocked"]) + 1
    per_class = Counter(int(k) for k in members[blocked])
    for klass, count in per_class.items():
        if klass in detail:
            for feature_name in detail[klass][1]:
                frequency[feature_name] += count
    candidates = []
    for feature_name, _ in frequency.most_common(MAX_CANDIDATES):
        candidates.append((f"{guest.spec},-{feature_name}", f"remove {feature_name}"))
    if guest.mode != BASELINE:
        candidates.append(("baseline", "use the pool baseline model"))
    best = None
    for spec, action in candidates:
        try:
            candidate = parse_guest_cpu(spec)
        except compat.GuestCpuError:
            continue
        pool_result = pool_baseline.compute(pool_views) if candidate.mode == BASELINE else None
        new_levels, _ = row(candidate, classes, hypervisor, pool_result)
        gained = _safe_count(new_levels) - now
        if gained > 0 and (best is None or gained > best["gained"]):
            guest_model = None
            if pool_result is not None:
                guest_model = compat.resolve_guest(
                    candidate, classes.representatives[int(members[0])], hypervisor, pool_result
                ).model_spec
            best = {
                "guest_cpu": spec,
                "action": action,
                "guest_model": guest_model,
                "gained": gained,
                "safe_after": now + gained,
                "note": "changing a running VM's CPU needs a guest restart (cold boot) on the "
                "new configuration; the guest stops seeing the removed features",
            }
    return best
