"""All directed pairs of a pool at once: the verdict level and the missing-feature count.

``compute(reports, guest_cpu, hypervisor)`` groups the hosts into classes (hosts with the same
feature masks and the same ``HostAttrs`` get the same answer), evaluates every class pair with
numpy, and expands the result to the hosts.  It equals ``compat.check`` cell by cell: the
verdict level, and ``missing`` = how many of the guest's features the destination lacks.  Full
reasons for one cell come from ``compat.check`` on demand.

How a class pair is decided (the same rules as ``compat.check``, split in two):

* the mask facts, per pair, in tiles of rows: ``missing = popcount(guest & ~offered & ~unknown)``
  over uint64 words (the table's 290 bits are 5 words; only the bits some guest uses are kept,
  usually 1-4 words), and "some guest feature is unknown on D" for the few destinations whose
  reports have unknown bits;
* everything else (vendor, address bits, TSC, nested virtualisation, report quality, features
  the source lacks) depends only on small per-row and per-column attributes, so
  ``compat.axis_reasons`` is evaluated once per distinct (row attributes, column attributes)
  and looked up per pair.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import baseline as pool_baseline
from . import policies
from .baseline import HostView, host_view
from .compat import (
    BASELINE,
    HYPERVISORS,
    MODEL,
    PASSTHROUGH,
    GuestCpu,
    HostAttrs,
    ResolvedGuest,
    axis_reasons,
    check_compatibility_mode,
    compatibility_unlisted,
    evc_admissions,
    parse_guest_cpu,
    resolve_guest,
    source_gaps,
)
from .levels import LEVELS
from .policies.base import assist_key
from .result import DecodedDump
from .table import TABLE

WORDS = (len(TABLE) + 63) // 64
BLOCKED = LEVELS.index("blocked")
RISKY = LEVELS.index("risky")
# Elements per tile (rows x classes): big enough that numpy's per-call overhead is small, small
# enough (1 MiB of uint64 per thread) to stay in cache.
TILE_ELEMENTS = 1 << 17
TABLE_MASK = (1 << len(TABLE)) - 1


def to_words(masks: Sequence[int], words: int = WORDS) -> np.ndarray:
    """Python-int masks as an (n, words) uint64 array, word 0 holding bits 0-63."""
    size = words * 8
    buffer = b"".join(mask.to_bytes(size, "little") for mask in masks)
    return np.frombuffer(buffer, dtype="<u8").reshape(len(masks), words).astype(np.uint64)


def _compress(arrays: list[np.ndarray], keep: int) -> list[np.ndarray]:
    """Keep only the bit columns set in ``keep``, packed into as few words as they need."""
    positions = np.array([i for i in range(WORDS * 64) if keep >> i & 1], dtype=np.intp)
    words = max(1, (len(positions) + 63) // 64)
    packed = []
    for array in arrays:
        bits = np.unpackbits(array.view(np.uint8), axis=1, bitorder="little")[:, positions]
        padded = np.zeros((array.shape[0], words * 64), dtype=np.uint8)
        padded[:, : len(positions)] = bits
        packed.append(np.packbits(padded, axis=1, bitorder="little").view("<u8").astype(np.uint64))
    return packed


@dataclass(frozen=True)
class Matrix:
    """Directed verdicts: row = source, column = destination."""

    hosts: list[str]
    guest_cpu: str
    hypervisor: str
    levels: np.ndarray
    missing: np.ndarray

    def verdict(self, source: int, destination: int) -> str:
        return LEVELS[self.levels[source, destination]]

    def to_dict(self) -> dict:
        return {
            "hosts": list(self.hosts),
            "guest_cpu": self.guest_cpu,
            "hypervisor": self.hypervisor,
            "verdicts": [[LEVELS[code] for code in row] for row in self.levels.tolist()],
            "missing": self.missing.tolist(),
        }


def class_key(view: HostView) -> tuple:
    """Hosts with equal keys get equal answers in every row and column."""
    return (view.feature_mask, view.known_absent_unknown, HostAttrs.of(view), assist_key(view))


def classes_of(views: Sequence[HostView]) -> tuple[list[HostView], np.ndarray]:
    """Distinct host classes and, per host, its class index."""
    index: dict[tuple, int] = {}
    members = []
    representatives = []
    for view in views:
        key = class_key(view)
        position = index.get(key)
        if position is None:
            position = index[key] = len(representatives)
            representatives.append(view)
        members.append(position)
    return representatives, np.array(members, dtype=np.intp)


_SEVERITY_LEVEL = {None: 0, "info": 0, "warning": RISKY, "blocker": BLOCKED}


def class_matrix(
    views: Sequence[HostView],
    guest: GuestCpu,
    hypervisor: str,
    pool_result: pool_baseline.Baseline | None = None,
    rows: tuple[int, int] | None = None,
    *,
    hyperv_compatibility: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(levels, missing), both classes x classes, for distinct host classes.

    ``levels`` are uint8 codes into ``LEVELS``; ``missing`` is uint8 when at most 255 bits can
    count, else uint16.  ``rows=(start, stop)`` computes only those source rows (a job's tile).
    """
    named = guest.mode in (MODEL, BASELINE)
    resolved = [
        resolve_guest(guest, view, hypervisor, pool_result, hyperv_compatibility) for view in views
    ]
    # VMware EVC admission (can each host be masked down to the guest's EVC mode?) depends on
    # the mode and the host: one level per (distinct mode, class), read by row and by column.
    modes: dict[tuple, ResolvedGuest] = {}
    for r in resolved:
        if r.evc_mode is not None:
            modes.setdefault((r.evc_mode, r.evc_vendor, r.feature_mask), r)
    mode_ids = {key: i for i, key in enumerate(modes)}
    admission = [
        [_SEVERITY_LEVEL[evc_admissions(r, view).severity] for view in views]
        for r in modes.values()
    ]
    emulated = policies.get(hypervisor).emulated if named else 0
    offered = [view.feature_mask | emulated for view in views]
    lacking = [
        ~o & ~v.known_absent_unknown & TABLE_MASK for o, v in zip(offered, views, strict=True)
    ]
    unknown = [
        ~o & v.known_absent_unknown & TABLE_MASK for o, v in zip(offered, views, strict=True)
    ]
    guest_masks = [r.feature_mask & ~r.uncertain for r in resolved]
    uncertain_masks = [r.uncertain for r in resolved]
    any_uncertain = any(uncertain_masks)
    # Only bits some guest uses and some destination lacks can count.
    used = lacks = 0
    for mask in guest_masks:
        used |= mask
    for mask in uncertain_masks:
        used |= mask
    for mask in lacking:
        lacks |= mask
    for mask in unknown:
        lacks |= mask
    guest_words, lacking_words, unknown_words, uncertain_words = _compress(
        [to_words(guest_masks), to_words(lacking), to_words(unknown), to_words(uncertain_masks)],
        used & lacks,
    )
    # Keys hold only what axis_reasons reads of each side for a level, so the table stays small:
    # of the guest its attributes; of each host its HostAttrs with the fields no rule can read
    # for this guest set cleared (the TSC bits only when some guest has an invariant TSC).
    guest_attrs = [r.attrs for r in resolved]
    any_invtsc = any(a.has_invtsc for a in guest_attrs)
    # Only KVM's passthrough identity warning and its TSC rule read the identity for a level
    # (the KVM generation note is info).
    keep_identity = hypervisor == "kvm" and (guest.mode == PASSTHROUGH or any_invtsc)
    # One HostAttrs per class, reduced to what the rules can read for this guest set.
    reduced: dict[HostAttrs, HostAttrs] = {}
    host_keys = []
    for view in views:
        attrs = HostAttrs.of(view)
        key = reduced.get(attrs)
        if key is None:
            key = reduced[attrs] = attrs._replace(
                has_invtsc=attrs.has_invtsc if any_invtsc else False,
                tsc_scaling=attrs.tsc_scaling if any_invtsc else None,
                cpu_id=_identity_key(attrs.cpu_id, any_invtsc) if keep_identity else None,
            )
        host_keys.append(key)

    row_index: dict[tuple, int] = {}
    row_ids = np.empty(len(views), dtype=np.intp)
    for position, (r, v) in enumerate(zip(resolved, views, strict=True)):
        gaps = source_gaps(r, v, hypervisor) if named else (0, 0)
        mode_index = (
            mode_ids[(r.evc_mode, r.evc_vendor, r.feature_mask)] if r.evc_mode is not None else -1
        )
        key = (
            guest_attrs[position],
            host_keys[position],
            bool(gaps[0]),
            bool(gaps[1]) or compatibility_unlisted(r, v),
            mode_index,
            admission[mode_index][position] if mode_index >= 0 else 0,
        )
        row_ids[position] = row_index.setdefault(key, len(row_index))
    col_index: dict[tuple, int] = {}
    col_ids = np.empty(len(views), dtype=np.intp)
    for position in range(len(views)):
        key = (host_keys[position], tuple(levels[position] for levels in admission))
        col_ids[position] = col_index.setdefault(key, len(col_index))
    row_keys = list(row_index)
    col_keys = list(col_index)
    table = np.empty((len(row_keys), len(col_keys)), dtype=np.uint8)
    base = LEVELS.index("safe-with-model") if named else LEVELS.index("safe")
    for i, row_key in enumerate(row_keys):
        guest_attrs, source_attrs, source_lacks, source_unknown, mode_index, source_admission = (
            row_key
        )
        for j, (destination_attrs, destination_admission) in enumerate(col_keys):
            severities = {
                reason.severity
                for reason in axis_reasons(guest_attrs, source_attrs, destination_attrs, hypervisor)
            }
            level = base
            if "warning" in severities or source_unknown:
                level = RISKY
            if "blocker" in severities or source_lacks:
                level = BLOCKED
            if mode_index >= 0:
                level = max(level, source_admission, destination_admission[mode_index])
            table[i, j] = level
    count = len(views)
    first, last = rows or (0, count)
    levels = np.empty((last - first, count), dtype=np.uint8)
    # Counts fit in uint8 when the kept bits do (at most 255): uint8 adds are 4x faster than
    # uint16 ones and the output is half the size.
    narrow = (used & lacks).bit_count() <= 255
    missing = np.empty((last - first, count), dtype=np.uint8 if narrow else np.uint16)
    # Row r of a tile starts as table[row key of r, column key of each column].
    table_rows = np.ascontiguousarray(table[:, col_ids])
    # Unknown guest features only matter where the table does not already say risky or worse
    # (name-based reports always do: their report warning); the rest are raw dumps with gaps.
    unknown_columns = np.flatnonzero(
        unknown_words.any(axis=1) & (table_rows.min(axis=0, initial=BLOCKED) < RISKY)
    )
    rows_per_tile = max(1, TILE_ELEMENTS // max(count, 1))
    tiles = [
        (start, min(last, start + rows_per_tile)) for start in range(first, last, rows_per_tile)
    ]

    words = guest_words.shape[1]

    def run(tile_range: list[tuple[int, int]]) -> None:
        scratch = np.empty((rows_per_tile, count), dtype=np.uint64)
        counts = np.empty((rows_per_tile, count), dtype=np.uint8)
        blocked = np.empty((rows_per_tile, count), dtype=bool)
        for start, stop in tile_range:
            rows = stop - start
            and_out, count_out = scratch[:rows], counts[:rows]
            guests = guest_words[start:stop]
            total = missing[start - first : stop - first]
            total.fill(0)
            for word in range(words):
                np.bitwise_and(guests[:, word, None], lacking_words[:, word], and_out)
                np.bitwise_count(and_out, out=count_out)
                np.add(total, count_out, out=total)
            tile_levels = levels[start - first : stop - first]
            np.take(table_rows, row_ids[start:stop], axis=0, out=tile_levels)
            # Any missing feature blocks: level = max(level, 3 * (missing > 0)).
            flags = blocked[:rows]
            np.not_equal(total, 0, out=flags)
            as_level = flags.view(np.uint8)
            np.multiply(as_level, BLOCKED, out=as_level)
            np.maximum(tile_levels, as_level, out=tile_levels)
            if any_uncertain:
                # Features the guest may not see (Hyper-V "standard" mode) that D lacks: risky.
                hit = np.zeros((rows, count), dtype=bool)
                for word in range(words):
                    maybe = lacking_words[:, word] | unknown_words[:, word]
                    hit |= (uncertain_words[start:stop, word, None] & maybe) != 0
                np.maximum(tile_levels, np.where(hit, RISKY, 0).astype(np.uint8), out=tile_levels)
            if len(unknown_columns):
                hit = np.zeros((rows, len(unknown_columns)), dtype=bool)
                for word in range(words):
                    hit |= (guests[:, word, None] & unknown_words[unknown_columns, word]) != 0
                sub = tile_levels[:, unknown_columns]
                np.maximum(sub, np.where(hit, RISKY, 0).astype(np.uint8), out=sub)
                tile_levels[:, unknown_columns] = sub

    # numpy releases the GIL inside these loops, so threads use every core.
    workers = min(len(tiles), os.cpu_count() or 1)
    if workers <= 1:
        run(tiles)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, [tiles[i::workers] for i in range(workers)]))
    return levels, missing


def _identity_key(cpu_id: tuple | None, any_invtsc: bool) -> tuple | None:
    """The part of the identity the rules can read: all of it for the TSC rule (same CPU), else
    vendor, family, model and stepping (passthrough identity, KVM generation note)."""
    if cpu_id is None or any_invtsc:
        return cpu_id
    return (*cpu_id[:4], None)


def compute(
    reports: Sequence[HostView | DecodedDump],
    guest_cpu: str | GuestCpu = "host-passthrough",
    hypervisor: str = "kvm",
    *,
    pool: Sequence[HostView | DecodedDump] | None = None,
    labels: Sequence[str] | None = None,
    hyperv_compatibility: str | None = None,
) -> Matrix:
    """Every directed pair of ``reports``; ``pool`` (default: the reports) defines ``baseline``;
    ``hyperv_compatibility`` as in ``compat.check``."""
    if hypervisor not in HYPERVISORS:
        raise ValueError(f"unknown hypervisor {hypervisor!r}; use one of {HYPERVISORS}")
    check_compatibility_mode(hypervisor, hyperv_compatibility)
    views = [host_view(report) for report in reports]
    guest = guest_cpu if isinstance(guest_cpu, GuestCpu) else parse_guest_cpu(guest_cpu)
    pool_result = None
    if guest.mode == BASELINE or hyperv_compatibility == "dynamic":
        pool_result = pool_baseline.compute(views if pool is None else pool)
    representatives, members = classes_of(views)
    levels, missing = class_matrix(
        representatives, guest, hypervisor, pool_result, hyperv_compatibility=hyperv_compatibility
    )
    grid = np.ix_(members, members)
    names = list(labels) if labels is not None else [v.label or str(i) for i, v in enumerate(views)]
    return Matrix(names, guest.spec, hypervisor, levels[grid], missing[grid])
