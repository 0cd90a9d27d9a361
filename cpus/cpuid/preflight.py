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
from .compat import BASELINE, LEVELS, GuestCpu, parse_guest_cpu
from .result import DecodedDump

RANK = {level: i for i, level in enumerate(LEVELS)}
SAFE_LEVELS = frozenset({"safe", "safe-with-model"})
# compat.check (full reasons) runs once per distinct destination class, up to this many.
MAX_DETAILED_CLASSES = 200
# Candidate single-feature removals tried for ``widen``.
MAX_CANDIDATES = 8


@dataclass
class Destination:
    index: int
    label: str
    verdict: str
    missing_count: int
    missing: list[str] = field(default_factory=list)
    reasons: list[dict] = field(default_factory=list)
    detailed: bool = True

    def to_dict(self) -> dict:
        return {
            "host": self.label,
            "verdict": self.verdict,
            "missing_count": self.missing_count,
            "missing": self.missing,
            "reasons": self.reasons,
            "detailed": self.detailed,
        }


@dataclass
class Preflight:
    guest_cpu: str
    hypervisor: str
    source: str
    destinations: list[Destination]
    widen: dict | None
    guest_os: dict | None = None

    @property
    def counts(self) -> dict:
        counts = Counter(d.verdict for d in self.destinations)
        return {level: counts.get(level, 0) for level in LEVELS}

    @property
    def safe(self) -> list[str]:
        return [d.label for d in self.destinations if d.verdict in SAFE_LEVELS]

    def to_dict(self) -> dict:
        return {
            "guest_cpu": self.guest_cpu,
            "hypervisor": self.hypervisor,
            "source": self.source,
            "counts": self.counts,
            "guest_os": self.guest_os,
            "widen": self.widen,
            "destinations": [d.to_dict() for d in self.destinations],
        }


def row(
    guest: GuestCpu,
    views: Sequence[HostView],
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Levels and missing counts of views[0] (the source) against every view: one matrix row
    over the distinct host classes.  Returns (levels, missing, class of each view)."""
    representatives, members = matrix.classes_of(views)
    source_class = int(members[0])
    levels, missing = matrix.class_matrix(
        representatives, guest, hypervisor, pool_result, rows=(source_class, source_class + 1)
    )
    return levels[0][members], missing[0][members], members


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
        raise ValueError(f"unknown hypervisor {hypervisor!r}; use one of {compat.HYPERVISORS}")
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    release = guest_os.get(guest_os_key) if guest_os_key else None
    source_view = host_view(source)
    views = [source_view, *(host_view(d) for d in destinations)]
    pool_views = views if pool is None else [host_view(p) for p in pool]
    pool_result = pool_baseline.compute(pool_views) if guest.mode == BASELINE else None
    levels, missing, members = row(guest, views, hypervisor, pool_result)
    names = (
        list(labels) if labels is not None else [v.label or str(i) for i, v in enumerate(views[1:])]
    )
    resolved = compat.resolve_guest(guest, source_view, hypervisor, pool_result)
    os_block = None
    os_answer = None
    if release is not None:
        os_reasons = guest_os.reasons(resolved.feature_mask, release)
        os_answer = {
            "id": release.id,
            "name": release.name,
            "boots": os_reasons[0].severity != "blocker",
            "reason": os_reasons[0].to_dict(),
        }
        if os_reasons[0].severity == "blocker":
            os_block = os_reasons[0]
    detailed: dict[int, compat.Verdict] = {}
    destinations_out = []
    for position in range(1, len(views)):
        klass = int(members[position])
        verdict = LEVELS[int(levels[position])]
        entry = Destination(position - 1, names[position - 1], verdict, int(missing[position]))
        if klass not in detailed and len(detailed) < MAX_DETAILED_CLASSES:
            detailed[klass] = compat.check(
                source_view,
                views[position],
                guest,
                hypervisor,
                pool=pool_views if guest.mode == BASELINE else None,
                vocabulary=vocabulary,
                suggest=False,
            )
        full = detailed.get(klass)
        if full is not None:
            entry.missing = full.missing
            entry.reasons = [r.to_dict() for r in full.reasons]
        else:
            entry.detailed = False
        if os_block is not None:
            entry.verdict = "blocked"
            entry.reasons.insert(0, os_block.to_dict())
        destinations_out.append(entry)
    destinations_out.sort(key=lambda d: (RANK[d.verdict], d.missing_count, d.label))
    suggestion = None
    if widen and os_block is None:
        suggestion = _widen(guest, views, hypervisor, pool_views, levels, detailed, members)
    return Preflight(
        guest.spec, hypervisor, source_view.label, destinations_out, suggestion, os_answer
    )


def _safe_count(levels: np.ndarray) -> int:
    return int(np.count_nonzero(levels[1:] <= RANK["safe-with-model"]))


def _widen(guest, views, hypervisor, pool_views, levels, detailed, members) -> dict | None:
    """The one guest CPU change that makes the most further destinations safe, or None."""
    now = _safe_count(levels)
    if now == len(views) - 1:
        return None
    frequency: Counter = Counter()
    for position in range(1, len(views)):
        if levels[position] == RANK["blocked"]:
            verdict = detailed.get(int(members[position]))
            if verdict is not None:
                frequency.update(verdict.missing)
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
        new_levels, _, _ = row(candidate, views, hypervisor, pool_result)
        gained = _safe_count(new_levels) - now
        if gained > 0 and (best is None or gained > best["gained"]):
            guest_model = None
            if pool_result is not None:
                guest_model = compat.resolve_guest(
                    candidate, views[0], hypervisor, pool_result
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
