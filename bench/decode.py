"""Decoding speed: dumps decoded per second per format, on one core.

    python bench/decode.py [--json] [--seconds S]

Each format is timed on a real sample (found by tests/samples.py), the whole pipeline (input
checks, format detection, parsing, decoding).  Target: at least 5,000 ``cpuid -r``-sized dumps
per second.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpus.cpuid import decode  # noqa: E402
from tests.samples import DUMPS  # noqa: E402

SAMPLES = {
    "cpuid-r": "thismachine_kvm_EPYC-Milan_cpuid-r.txt",
    "aida64": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
    "aida64 (72 CPUs)": "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt",
    "libcpuid": "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt",
    "libvirt-cpudata": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
    "x86info": "thismachine_kvm_EPYC-Milan_x86info-r.txt",
    "proc-cpuinfo": "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt",
    "lscpu": "thismachine_kvm_EPYC-Milan_lscpu.txt",
    "lscpu-json": "thismachine_kvm_EPYC-Milan_lscpu-J.json",
    "libvirt-capabilities": "thismachine_libvirt9.0_virsh_capabilities.xml",
    "libvirt-domcapabilities": "thismachine_libvirt9.0_virsh_domcapabilities_kvm.xml",
    "qmp": "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl",
}


def rate(data: bytes, seconds: float) -> float:
    decode(data)  # warm caches (libvirt cpu_map, regexes)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(20):
            decode(data)
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per format (default 1)")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    results = {}
    for name, file in SAMPLES.items():
        data = (DUMPS / file).read_bytes()
        results[name] = {"bytes": len(data), "dumps_per_second": round(rate(data, args.seconds))}
    if args.json:
        print(
            json.dumps(
                {
                    "dumps_per_second": {
                        name: r["dumps_per_second"] for name, r in results.items()
                    },
                    "python": platform.python_version(),
                    "machine": platform.machine(),
                }
            )
        )
        return
    print(f"{'format':26}{'sample bytes':>14}{'dumps/s':>12}{'µs/dump':>10}")
    for name, result in results.items():
        per = 1e6 / result["dumps_per_second"]
        print(f"{name:26}{result['bytes']:>14,}{result['dumps_per_second']:>12,}{per:>10.0f}")


if __name__ == "__main__":
    main()
