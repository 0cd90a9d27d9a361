"""The project's real sample dumps, by file name, wherever each one is kept.

Every dump is kept once: the ones the demo catalog seeds from live in ``cpus/seed/dumps/`` (the
running site reads them), the ones only tests use in ``tests/dumps/``.  Tests and benchmarks name a
sample by its file name and never by its folder::

    from tests.samples import DUMPS

    raw = (DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_bytes()
    for path in DUMPS.iterdir():  # every sample of both folders, sorted by name
        ...

``tests/cpuid/test_samples.py`` fails if one file name is in both folders.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED_DUMPS = ROOT / "cpus" / "seed" / "dumps"
TEST_DUMPS = ROOT / "tests" / "dumps"
FOLDERS = (SEED_DUMPS, TEST_DUMPS)
# Each folder's README.md says where its samples come from; it is not a sample.
NOT_SAMPLES = frozenset({"README.md"})


class Samples:
    """The sample dumps of ``FOLDERS`` as one folder: ``DUMPS / name`` is the path of ``name`` in
    whichever folder holds it; ``iterdir()`` and ``glob()`` cover both folders."""

    def __init__(self, folders: tuple[Path, ...] = FOLDERS) -> None:
        self.folders = folders

    def paths(self) -> dict[str, list[Path]]:
        """Every sample file name, with each folder that holds it (normally exactly one)."""
        found: dict[str, list[Path]] = {}
        for folder in self.folders:
            for path in sorted(folder.iterdir()):
                if path.is_file() and path.name not in NOT_SAMPLES:
                    found.setdefault(path.name, []).append(path)
        return found

    def __truediv__(self, name: str) -> Path:
        for folder in self.folders:
            path = folder / name
            if path.is_file():
                return path
        raise FileNotFoundError(f"no sample dump {name!r} in {', '.join(map(str, self.folders))}")

    def iterdir(self) -> Iterator[Path]:
        """Every sample of every folder, sorted by file name."""
        for _name, paths in sorted(self.paths().items()):
            yield paths[0]

    def glob(self, pattern: str) -> list[Path]:
        """The samples whose file name matches ``pattern``, sorted by file name."""
        return sorted(
            (
                path
                for folder in self.folders
                for path in folder.glob(pattern)
                if path.name not in NOT_SAMPLES
            ),
            key=lambda path: path.name,
        )

    def __repr__(self) -> str:
        return f"<samples in {', '.join(str(f.relative_to(ROOT)) for f in self.folders)}>"


DUMPS = Samples()
