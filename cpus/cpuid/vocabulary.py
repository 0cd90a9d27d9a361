"""The feature-name vocabularies: the one list every page, API field, command and table reads.

A feature bit has a name in each tool's vocabulary (``table.py`` holds one column per
vocabulary): Linux ``/proc/cpuinfo`` (``linux``), QEMU ``-cpu`` properties (``qemu``) and libvirt
``cpu_map`` (``libvirt``).  Adding a vocabulary is a member here plus its column in ``table.py``.

``canonical`` is not a vocabulary a user picks: it is the engine's display name of every bit
(Linux's where Linux has one, see ``table.Feature.name``).  Linux has no name for some bits
(``invtsc``, the MSR bits), so when a user asks for Linux names the engine answers with the
canonical ones, which fill those in (``engine_name``).
"""

from __future__ import annotations

from enum import StrEnum


class Vocabulary(StrEnum):
    LINUX = "linux"
    QEMU = "qemu"
    LIBVIRT = "libvirt"


#: The vocabularies' values in order (for choices, enums and table columns).
VOCABULARIES: tuple[str, ...] = tuple(v.value for v in Vocabulary)
#: What ``?names=`` and ``--names`` mean when not given (or not understood, on pages).
DEFAULT = Vocabulary.LINUX
#: The engine's display names (Linux's, filled in from QEMU's and libvirt's).
CANONICAL = "canonical"


def parse_vocabulary(value: str | None, default: Vocabulary = DEFAULT) -> Vocabulary:
    """The vocabulary ``value`` names, else ``default`` (pages ignore an unknown ``?names=``)."""
    try:
        return Vocabulary(value)
    except ValueError:
        return default


def engine_name(vocabulary: str) -> str:
    """The vocabulary argument of the engine's name lists for a user's choice: ``canonical``
    for Linux (so bits Linux cannot name still show), the vocabulary itself otherwise."""
    return CANONICAL if vocabulary == Vocabulary.LINUX else str(vocabulary)
