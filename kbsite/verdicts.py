"""What each verdict word means, in plain words, with its one-letter symbol: the one source for
the glossary page, the legend partial, every verdict badge and the ``compat_matrix`` command's
symbols.  The levels themselves (values and order) are ``cpus/cpuid/levels.py``; this module
gives each one its words, in that order (a test checks it covers every level).  The colours live
only in ``kbsite/static/kbsite/site.css`` (``--v-<level>``, used by the ``v-<level>`` classes and
the accuracy chart's outlines): pages may not carry style attributes (CSP), so the stylesheet is
the single place a verdict's colour is defined."""

from __future__ import annotations

from dataclasses import dataclass

from cpus.cpuid.levels import UNPREDICTABLE, Level


@dataclass(frozen=True)
class VerdictWord:
    level: str
    symbol: str
    short: str
    meaning: str
    next_step: str


VERDICTS: tuple[VerdictWord, ...] = (
    VerdictWord(
        Level.SAFE.value,
        "S",
        "will migrate",
        "Every feature, register and setting the guest can see on the source is there on the "
        "destination, and no rule of the hypervisor warns against the move.",
        "Nothing to do.",
    ),
    VerdictWord(
        Level.SAFE_WITH_MODEL.value,
        "M",
        "will migrate with the named guest CPU",
        "Safe, on the condition that the VM is configured with exactly the named guest CPU model "
        "shown (for example a QEMU model or a VMware EVC mode): the model hides what the "
        "destination lacks.  With any other guest CPU setting the answer can change.",
        "Set the VM's guest CPU to the model shown, then migrate.",
    ),
    VerdictWord(
        Level.RISKY.value,
        "R",
        "may migrate, may misbehave",
        "Nothing certainly stops the migration, but at least one warning applies: the guest may "
        "see a changed CPU identity, timer frequency or address width, or the destination's "
        "report cannot show every feature.  Guests often survive this; some software does not.",
        "Read the warnings; the suggestion, when there is one, names a guest CPU that avoids them.",
    ),
    VerdictWord(
        Level.BLOCKED.value,
        "X",
        "will not migrate",
        "At least one blocker: the guest uses a feature the destination lacks, the vendors differ "
        "where the hypervisor forbids it, or a setting cannot be carried over.  The hypervisor "
        "refuses the migration, or the guest would crash after it.",
        "Use the suggested guest CPU (it hides what the destination lacks), or pick another "
        "destination.",
    ),
    VerdictWord(
        UNPREDICTABLE,
        "?",
        "no prediction",
        "The engine gave no verdict for this record (it was made from data the engine could not "
        "judge).",
        "Attach full CPUID reports to both hosts so the engine can judge the pair.",
    ),
)

BY_LEVEL = {word.level: word for word in VERDICTS}
