"""Planning a pool: hosts you do not own yet, standardisation choices, stranded VMs.

``hypothetical(view, count, name)``  ``count`` planned hosts with a catalog CPU's report: the
                                    same HostView (the same masks, identity and assists) under
                                    new labels, so the engine cannot tell them from real hosts
                                    with that CPU.
``what_if(pool, add, retire)``      the baseline before and after: features gained and lost,
                                    the QEMU model, EVC modes, x86-64 level and guest OSes.
``standardisation(pool)``           for each QEMU model some host can run, the hosts that cannot
                                    run it and the features it gains over the pool baseline:
                                    one option per set of excluded hosts (the richest model of
                                    that set), fewest hosts dropped first, then richest first
                                    ("newest first": QEMU models carry no dates, so the number
                                    of features stands for the generation).
``stranded(pool, new)``             which existing hosts' running VMs (host-passthrough or
                                    host-model) could not move to a newly bought CPU: the
                                    matrix column of the new host.

Which model a host can run follows the KVM policy: the model's features must all be on the host
or be ones KVM emulates (``policies.kvm``: QEMU refuses to start otherwise with ``enforce``).

Pure core: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from . import baseline as pool_baseline
from . import guest_models, guest_os, matrix, policies
from .baseline import BASELINE_UNIVERSE, HostView, host_view, names

MAX_OPTIONS = 12


class PlanningError(ValueError):
    """A plan that cannot be worked out: a count out of range, a retired host not in the pool,
    an empty pool."""


def hypothetical(view: HostView, count: int, name: str) -> list[HostView]:
    """``count`` planned hosts with the CPU of ``view`` (a catalog model's report)."""
    if not 1 <= count <= 1000:
        raise PlanningError("a planned host count is between 1 and 1000")
    base = host_view(view)
    return [replace(base, label=f"{name} (planned {i + 1}/{count})") for i in range(count)]


def _summary(pool: pool_baseline.Baseline) -> dict:
    return {
        "hosts": pool.hosts,
        "features": len(names(pool.feature_mask)),
        "qemu_model": pool.qemu_model.spec if pool.qemu_model else None,
        "libvirt_model": pool.libvirt_model.spec if pool.libvirt_model else None,
        "evc_modes": pool.evc_modes,
        "x86_64_level": pool.x86_64_level,
        "guest_os": [os["id"] for os in guest_os.runnable(pool.feature_mask) if os["runs"]],
    }


def what_if(
    pool: Sequence[HostView], add: Sequence[HostView] = (), retire: Sequence[str] = ()
) -> dict:
    """The baseline of ``pool`` and of ``pool`` minus the ``retire`` labels plus ``add``."""
    views = [host_view(v) for v in pool]
    unknown = set(retire) - {v.label for v in views}
    if unknown:
        raise PlanningError(f"not in the pool: {', '.join(sorted(unknown))}")
    after_views = [v for v in views if v.label not in set(retire)] + [host_view(v) for v in add]
    if not after_views:
        raise PlanningError("the pool would be empty")
    before = pool_baseline.compute(views) if views else None
    after = pool_baseline.compute(after_views)
    before_mask = before.feature_mask if before else 0
    return {
        "before": _summary(before) if before else None,
        "after": _summary(after),
        "gained": names(after.feature_mask & ~before_mask),
        "lost": names(before_mask & ~after.feature_mask) if before else [],
        "added": [v.label for v in add],
        "retired": list(retire),
        "baseline_after": after,
    }


def runs_model(host: HostView, model: guest_models.GuestModel, hypervisor: str = "kvm") -> bool:
    offered = host.feature_mask | policies.get(hypervisor).emulated
    return not model.feature_mask & ~offered


def _useful(model: guest_models.GuestModel) -> int:
    return -(model.feature_mask & BASELINE_UNIVERSE).bit_count()


def standardisation(pool: Sequence[HostView], hypervisor: str = "kvm") -> list[dict]:
    """The trade-off between keeping every host and running a richer guest model."""
    views = [host_view(v) for v in pool]
    if not views:
        raise PlanningError("an empty pool has no standardisation choices")
    common = pool_baseline.compute(views).feature_mask
    best: dict[tuple, guest_models.GuestModel] = {}
    for model in guest_models.models_of("qemu"):
        if not model.migration_safe or model.deprecated:
            continue
        excluded = tuple(i for i, v in enumerate(views) if not runs_model(v, model, hypervisor))
        if len(excluded) == len(views):
            continue
        current = best.get(excluded)
        # Richer in what a pool baseline can carry (migratable, guest-visible features), not in
        # host-only bits a model may list (core2duo's acpi, monitor).
        richer = current is None or (_useful(model), model.display_name) < (
            _useful(current),
            current.display_name,
        )
        if richer:
            best[excluded] = model
    # An option is worth listing only if no option dropping fewer-or-equal hosts (a subset)
    # offers at least its features.
    options = []
    for excluded, model in best.items():
        dominated = any(
            other != excluded
            and set(other) <= set(excluded)
            and not model.feature_mask & BASELINE_UNIVERSE & ~best[other].feature_mask
            for other in best
        )
        if not dominated:
            options.append((excluded, model))
    options.sort(key=lambda item: (len(item[0]), -_useful(item[1])))
    fitted = pool_baseline.compute(views).qemu_model
    result = []
    if fitted is not None:
        result.append(
            {
                "guest_model": fitted.spec,
                "vendor": None,
                "keeps": len(views),
                "drops": [],
                "gained": [],
                "lost": [],
                "fitted": True,
            }
        )
    for excluded, model in options[:MAX_OPTIONS]:
        result.append(
            {
                "guest_model": model.display_name,
                "vendor": model.vendor,
                "keeps": len(views) - len(excluded),
                "drops": [views[i].label for i in excluded],
                "gained": names(model.feature_mask & BASELINE_UNIVERSE & ~common),
                "lost": names(common & ~model.feature_mask),
                "fitted": False,
            }
        )
    return result


def stranded(pool: Sequence[HostView], new: HostView, hypervisor: str = "kvm") -> list[dict]:
    """For each existing host: can its running VMs (host-passthrough, host-model) move to the
    new CPU?  The new host's column of the directed matrix, with the features it lacks."""
    views = [host_view(v) for v in pool]
    target = host_view(new)
    rows = []
    answers = {
        guest: matrix.compute([*views, target], guest, hypervisor)
        for guest in ("host-passthrough", "host-model")
    }
    column = len(views)
    for i, view in enumerate(views):
        entry = {"host": view.label, "missing": names(view.feature_mask & ~target.feature_mask)}
        for guest, result in answers.items():
            entry[guest] = result.verdict(i, column)
        entry["stranded"] = entry["host-model"] == "blocked" or entry["host-passthrough"] == (
            "blocked"
        )
        rows.append(entry)
    return rows
