"""The registry of hypervisor policies: one module per hypervisor, one list every caller reads.

``POLICIES`` maps a key (``kvm``, ``vmware``, ``hyperv``) to its ``Policy``; ``HYPERVISORS`` is
their keys in order, ``CHOICES`` (key, label) pairs for forms and API enums.  ``RECORDED`` adds
the hypervisors the ledger records but the engine does not judge (Xen).  The API, the
management commands, the matrix tiles, the heatmap tabs and the client read this list.  Adding a
hypervisor is one module that defines a ``Policy`` subclass and ``POLICY``, listed here, plus its
tests.
"""

from __future__ import annotations

from . import hyperv, kvm, vmware
from .base import Policy

POLICIES: dict[str, Policy] = {module.POLICY.key: module.POLICY for module in (kvm, vmware, hyperv)}
HYPERVISORS: tuple[str, ...] = tuple(POLICIES)
CHOICES: tuple[tuple[str, str], ...] = tuple((key, p.label) for key, p in POLICIES.items())

# Hypervisors the migration ledger records outcomes for although the engine does not judge them
# (no policy): (key, label).  The ledger's choices, the error explainer and the client's
# ``record --hypervisor`` read ``RECORDED``: the judged ones, then these.
RECORDED_ONLY: tuple[tuple[str, str], ...] = (("xen", "Xen"),)
RECORDED_CHOICES: tuple[tuple[str, str], ...] = CHOICES + RECORDED_ONLY
RECORDED: tuple[str, ...] = tuple(key for key, _ in RECORDED_CHOICES)


def get(key: str) -> Policy:
    """The policy of ``key``; ValueError naming the known ones otherwise."""
    try:
        return POLICIES[key]
    except KeyError:
        raise ValueError(f"unknown hypervisor {key!r}; use one of {HYPERVISORS}") from None
