"""Hostile inputs: how long detection and decoding take on 2 MB inputs built to make regular
expressions backtrack (issue 19), and the error explainer on 64 KiB messages.

    python bench/hostile.py

Prints one line per shape: seconds, bytes, outcome. Every figure should be well under a second
(tests/security/test_linear_parsing.py asserts it); before the fix several took 6-20 s or more.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpus.cpuid import DumpParseError, decode  # noqa: E402
from cpus.cpuid.formats import MAX_BYTES, MAX_LINE_CHARS  # noqa: E402
from migrations_log.explain import MAX_MESSAGE_BYTES, explain  # noqa: E402
from tests.samples import DUMPS  # noqa: E402

SIZE = MAX_BYTES - 4096
LINE = MAX_LINE_CHARS - 1024


def fill(prefix: str, unit: str, size: int = SIZE) -> str:
    return prefix + unit * max(1, (size - len(prefix)) // len(unit.encode()))


CPUINFO = (DUMPS / "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt").read_text()
LSCPU = (DUMPS / "thismachine_kvm_EPYC-Milan_lscpu.txt").read_text()
AIDA = (DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_text()
CPUDATA = (DUMPS / "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml").read_text()
ROW = next(line for line in CPUDATA.splitlines() if "<cpuid " in line) + "\n"

SHAPES = {
    "64 KB of <?": "<?" * 32 * 1024,
    "2 MB of <? lines": fill("", "<?" * (LINE // 2) + "\n"),
    "2 MB of line breaks": fill("", "\n", SIZE) + "x",
    "blank lines of 64 KB": fill("", " " * 65536 + "\n"),
    "cpuinfo + long blank lines": fill(CPUINFO, "a" + " " * LINE + "b\n"),
    "cpuinfo + tabs without colon": fill(CPUINFO, "x" + "\t" * LINE + "\n"),
    "lscpu + long blank values": fill(LSCPU, "Model name: a" + " " * LINE + "b\n"),
    "lscpu + key: prefixes": fill(LSCPU, "key: " * (LINE // 5) + "\n"),
    "AIDA64 rows repeated": fill("", AIDA),
    "libvirt <cpuid> x 14,000": CPUDATA.replace("</cpudata>", ROW * (SIZE // len(ROW) - 20))
    + "</cpudata>",
    "nested [ lines": fill("", "[\n"),
    "lscpu -J nested 260,000 deep": '{"lscpu":' + "[" * LINE,
    "many JSON documents": fill("", "{}\n"),
}
MESSAGES = {
    "blanks": " " * (MAX_MESSAGE_BYTES - 16),
    "CPUID hex run": "host doesn't support requested feature: CPUID." + "0" * 65000,
    "phrase prefixes": "Host CPU does not provide " * 2500,
}


def main() -> None:
    for name, text in SHAPES.items():
        started = time.perf_counter()
        try:
            outcome = f"decoded ({decode(text).format})"
        except DumpParseError as error:
            outcome = f"refused: {error}"[:70]
        elapsed = time.perf_counter() - started
        print(f"{elapsed:7.3f} s  {len(text.encode()):>9,} B  {name:30} {outcome}")
    for name, message in MESSAGES.items():
        started = time.perf_counter()
        explanation = explain(message[: MAX_MESSAGE_BYTES - 16])
        elapsed = time.perf_counter() - started
        print(f"{elapsed:7.3f} s  {len(message):>9,} B  explain: {name:21} {explanation.pattern}")


if __name__ == "__main__":
    main()
