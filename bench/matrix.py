"""Compatibility-matrix and pool-baseline speed.

    python bench/matrix.py [--classes K] [--json] [--guest G] [--hypervisor H]

Prints, for K distinct host classes (default 5,000: the real sample dumps (tests/samples.py) and
random subsets of their feature sets; no bit outside a real set is ever invented), the directed
pairs per second of ``matrix.class_matrix``, the time of one ``baseline.compute`` over 1,000
hosts, and, when ``virsh`` is installed, libvirt's ``cpu-baseline`` time for the same 1,000 hosts
(``virsh -c test:///default``, no daemon needed) and the ratio; null otherwise.
Targets on a 2-core machine: >= 100 million pairs per second, a 1,000-host baseline < 5 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cpus.cpuid import DumpParseError, decode, matrix, policies  # noqa: E402
from cpus.cpuid import baseline as pool_baseline  # noqa: E402
from cpus.cpuid.baseline import host_view  # noqa: E402
from cpus.cpuid.compat import parse_guest_cpu  # noqa: E402
from tests.samples import DUMPS  # noqa: E402


def real_hosts() -> list:
    hosts = []
    for path in DUMPS.iterdir():
        if path.suffix not in (".txt", ".xml", ".json", ".jsonl"):
            continue
        try:
            hosts.append(host_view(decode(path.read_bytes()), path.name))
        except DumpParseError:
            continue
    return hosts


def synthetic_classes(count: int, seed: int = 1) -> list:
    """``count`` distinct host classes: the real hosts, then random subsets of their features."""
    rng = random.Random(seed)
    real = real_hosts()
    hosts = list(real)
    seen = {matrix.class_key(h) for h in hosts}
    while len(hosts) < count:
        parent = rng.choice(real)
        bits = [i for i in range(parent.feature_mask.bit_length()) if parent.feature_mask >> i & 1]
        keep = rng.sample(bits, k=max(1, len(bits) - rng.randint(1, 12)))
        mask = sum(1 << i for i in keep)
        host = replace(parent, feature_mask=mask, label=f"{parent.label}~{len(hosts)}")
        if matrix.class_key(host) in seen:
            continue
        seen.add(matrix.class_key(host))
        hosts.append(host)
    return hosts[:count]


def best_of(runs: int, function) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def libvirt_baseline_ms(hosts) -> float | None:
    if shutil.which("virsh") is None:
        return None
    cpus = []
    for host in hosts:
        features = "".join(
            f"<feature name='{name}'/>"
            for name in pool_baseline.names(host.feature_mask, "libvirt")
        )
        vendor = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}.get(host.identity.vendor, "")
        cpus.append(f"<cpu><arch>x86_64</arch><vendor>{vendor}</vendor>{features}</cpu>")
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as handle:
        handle.write("<cpus>" + "".join(cpus) + "</cpus>")
        path = handle.name
    try:
        start = time.perf_counter()
        result = subprocess.run(
            ["virsh", "-c", "test:///default", "cpu-baseline", path],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.perf_counter() - start
    finally:
        os.unlink(path)
    return elapsed * 1000 if result.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=5000, help="distinct host classes")
    parser.add_argument(
        "--guest", default="host-passthrough", help="guest CPU (default passthrough)"
    )
    parser.add_argument("--hypervisor", default="kvm", choices=policies.HYPERVISORS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    classes = synthetic_classes(args.classes)
    representatives, _ = matrix.classes_of(classes)
    guest = parse_guest_cpu(args.guest)
    pool_result = pool_baseline.compute(classes) if guest.mode == "baseline" else None
    pairs = len(representatives) ** 2
    matrix.class_matrix(representatives[:50], guest, args.hypervisor, pool_result)  # warm up
    seconds = best_of(
        5, lambda: matrix.class_matrix(representatives, guest, args.hypervisor, pool_result)
    )
    chooser = random.Random(2)
    pool = [chooser.choice(classes) for _ in range(1000)]
    pool_baseline.compute(pool)
    baseline_seconds = best_of(5, lambda: pool_baseline.compute(pool))
    libvirt_ms = libvirt_baseline_ms(pool)
    baseline_ms = baseline_seconds * 1000
    result = {
        "classes": len(representatives),
        "pairs": pairs,
        "guest_cpu": args.guest,
        "hypervisor": args.hypervisor,
        "matrix_seconds": round(seconds, 4),
        "pairs_per_second": round(pairs / seconds),
        "baseline_1000_ms": round(baseline_ms, 3),
        "libvirt_baseline_1000_ms": None if libvirt_ms is None else round(libvirt_ms, 1),
        "libvirt_ratio": None if libvirt_ms is None else round(libvirt_ms / baseline_ms, 1),
        "machine": (
            f"{platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}"
        ),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"matrix    {result['classes']:,} classes, {pairs:,} directed pairs in {seconds:.3f} s")
    print(f"          {result['pairs_per_second'] / 1e6:,.1f} million pairs per second")
    print(f"baseline  1,000 hosts in {baseline_ms:.3f} ms")
    if libvirt_ms is None:
        print("libvirt   virsh not installed (or cpu-baseline failed): no comparison")
    else:
        print(f"libvirt   cpu-baseline {libvirt_ms:.1f} ms ({result['libvirt_ratio']}x ours)")


if __name__ == "__main__":
    main()
