"""The one reader of the core's data files: hardware facts kept as data beside the rules.

``data/`` holds what the vendors, the hypervisors and the standards publish (generation tables,
model lists, feature lists, citations, the prose shown to users); the modules of the core hold the
rules that read them.  Every module reads its file through ``load`` (parsed once per process and
shared: callers must not change what it returns) or, for a folder or a file that is not JSON,
``path``.  ``tests/cpuid/test_facts.py`` checks each file's shape, and that no other module opens
anything under ``data/``.

Pure core: no Django.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def path(name: str) -> Path:
    """The path of ``name``, a file or folder of ``data/``; FileNotFoundError if it is missing."""
    found = DATA / name
    if found.parent != DATA or not found.exists():
        raise FileNotFoundError(f"no data file {name!r} in {DATA}")
    return found


@cache
def load(name: str) -> Any:
    """The parsed JSON file ``name`` of ``data/``, read once per process (do not modify it)."""
    return json.loads(path(name).read_text(encoding="utf-8"))


def hex_int(text: str) -> int:
    """``"0x3A"`` -> 58: data files write family, model and MSR numbers in hex, as vendors do."""
    if not text.startswith("0x"):
        raise ValueError(f"not a 0x-prefixed hex number: {text!r}")
    return int(text, 16)
