"""A generated collection of host reports for import tests and bench/import_dumps.py: copies of
the project's real samples (tests/dumps) under varied names, folders and layouts, exact
duplicates, and files that must be refused.  Nothing here invents CPUID values: every report is
a real sample, byte for byte or with blank lines appended or line endings changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.samples import DUMPS

NOT_REPORTS = {
    "README.md",
    "thismachine_kvm_EPYC-Milan_cpuid-1_decoded.txt",
    "thismachine_qemu7.2_qmp_query-cpu-definitions.jsonl",
}
# Files that are not reports: each must be refused with its reason.
JUNK = {
    "notes.txt": b"these are my notes, not a dump\n",
    "empty.txt": b"",
    "photo.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x02\x00",
    "half.xml": b"<cpudata arch='x86'>\n  <cpuid eax_in='0x00000000' ecx_in='0x00",
}


@dataclass
class Corpus:
    files: int
    distinct: int  # distinct report texts: each is added once
    duplicates: int  # files whose text is already another file's
    refused: int


def samples() -> list[Path]:
    return [p for p in DUMPS.iterdir() if p.name not in NOT_REPORTS]


def variants(data: bytes, count: int) -> list[bytes]:
    """``count`` distinct texts of the same report: blank lines appended, CRLF line endings."""
    out = [data]
    for extra in range(1, count):
        body = data if extra % 2 else data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        out.append(body + b"\n" * extra)  # distinct even when the sample has no newline
    return out[:count]


def generate(folder: Path, per_sample: int = 2, copies: int = 1, junk_rounds: int = 1) -> Corpus:
    """Write the collection; ``per_sample`` distinct texts per sample, each written ``copies``
    more times under other names and folders (duplicates)."""
    files = distinct = duplicates = refused = 0
    for index, sample in enumerate(samples()):
        for number, text in enumerate(variants(sample.read_bytes(), per_sample)):
            for copy in range(copies + 1):
                vendor_dir = folder / f"set{copy}" / ("amd" if "Opteron" in sample.name else "x")
                vendor_dir.mkdir(parents=True, exist_ok=True)
                suffix = [".txt", ".TXT", ".log", ""][(index + number + copy) % 4]
                name = f"{sample.stem.replace('_', '-')}-{number}-{copy}{suffix}"
                (vendor_dir / name).write_bytes(text)
                files += 1
                distinct += copy == 0
                duplicates += copy > 0
    for round_ in range(junk_rounds):
        junk_dir = folder / "misc" / f"r{round_}"
        junk_dir.mkdir(parents=True, exist_ok=True)
        for name, data in JUNK.items():
            (junk_dir / name).write_bytes(data)
            files += 1
            refused += 1
    return Corpus(files=files, distinct=distinct, duplicates=duplicates, refused=refused)
