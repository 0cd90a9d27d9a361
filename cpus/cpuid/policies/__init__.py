"""The registry of hypervisor policies: one module per hypervisor, one list every caller reads.

``POLICIES`` maps a key (``kvm``, ``vmware``, ``hyperv``) to its ``Policy``; ``HYPERVISORS`` is
their keys in order, ``CHOICES`` (key, label) pairs for forms and API enums.  The API, the
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


def get(key: str) -> Policy:
    """The policy of ``key``; ValueError naming the known ones otherwise."""
    try:
        return POLICIES[key]
    except KeyError:
        raise ValueError(f"unknown hypervisor {key!r}; use one of {HYPERVISORS}") from None
