"""Verdict levels: the one list of what a directed compatibility answer can be, in order.

``Level`` is the engine's answer, best first (``compat.level_of`` picks it; ``matrix`` stores it
as a code into ``LEVELS``, so the order is part of the contract).  ``UNPREDICTABLE`` is not an
engine answer: the ledger stores it for a record made without a prediction, and pages show it
like a level.  ``DISPLAY_LEVELS`` is every level a page can show, in the order of the legend.

Who reads this: the engine (``compat``, ``matrix``, ``preflight``), the ledger's ``Verdict``
choices (``migrations_log/models.py``), the words and symbols of each level
(``kbsite/verdicts.py``) and, by class name ``v-<level>``, the colours in
``kbsite/static/kbsite/site.css`` (a test checks every level has one).

Pure core: no Django.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    SAFE = "safe"
    SAFE_WITH_MODEL = "safe-with-model"
    RISKY = "risky"
    BLOCKED = "blocked"


#: The engine's levels' values, best first (``matrix`` level codes index this tuple).
LEVELS: tuple[str, ...] = tuple(level.value for level in Level)
#: The levels that mean "it will migrate" (the second only with the named guest CPU).
SAFE_LEVELS = frozenset({Level.SAFE.value, Level.SAFE_WITH_MODEL.value})
#: The ledger's level of a record made without a prediction.
UNPREDICTABLE = "unpredictable"
#: Every level a page shows, in legend order.
DISPLAY_LEVELS: tuple[str, ...] = (*LEVELS, UNPREDICTABLE)
