"""One VM against many hosts: ``preflight.run`` time (the server's engine part).

    python bench/preflight.py [--hosts N] [--classes K] [--guest G] [--json]

Builds N hosts (default 10,000) from K distinct host classes (default: the real sample dumps
of tests/samples.py only, repeated, as an inventory of a few CPU generations looks; ``--classes``
adds random subsets of their feature sets, as bench/matrix.py does, never an invented bit),
reads a VM's guest CPU from tests/engine/vms/vm.yaml (KubeVirt, Haswell-noTSX) unless
``--guest`` is given, and times ``preflight.run`` from the first host to all N: the ranked
verdicts (one numpy matrix row), the reasons (compat.check once per distinct destination class,
up to ``preflight.MAX_DETAILED_CLASSES``) and the widening search.  Target: < 100 ms for
10,000 hosts of the real classes on a 2-core machine.  Not included: reading the hosts from
PostgreSQL and the JSON response; ``--render`` also times the answer's rendering as the API
does it (``to_dict()``, then the output serializer that is its schema,
cpus/compat/api/schemas.py ``PreflightSerializer``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from matrix import real_hosts, synthetic_classes  # noqa: E402

from cpus.cpuid import preflight, vmconfig  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10_000)
    parser.add_argument("--classes", type=int, default=0, help="distinct classes (0: real only)")
    parser.add_argument("--guest", default="")
    parser.add_argument("--hypervisor", default="")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--render", action="store_true", help="also time to_dict() and the output serializer"
    )
    args = parser.parse_args()
    classes = synthetic_classes(args.classes) if args.classes else real_hosts()
    hosts = [classes[i % len(classes)] for i in range(args.hosts)]
    vm = vmconfig.parse((ROOT / "tests" / "engine" / "vms" / "vm.yaml").read_text())
    guest = args.guest or vm.guest_cpu
    hypervisor = args.hypervisor or vm.hypervisor
    source = next(h for h in classes if "SkylakeSP_libcpuid" in h.label)
    times = []
    answer = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        answer = preflight.run(guest, source, hosts, hypervisor)
        times.append(time.perf_counter() - start)
    figures = {
        "hosts": len(hosts),
        "distinct_classes": len(classes),
        "guest_cpu": guest,
        "hypervisor": hypervisor,
        "median_ms": round(statistics.median(times) * 1000, 1),
        "best_ms": round(min(times) * 1000, 1),
        "counts": answer.counts,
        "widen": answer.widen and {k: answer.widen[k] for k in ("action", "gained")},
    }
    if args.render:
        figures.update(_render_times(vm, answer, args.repeat))
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    for key, value in figures.items():
        print(f"{key:>17}: {value}")


def _render_times(vm, answer, repeat: int) -> dict:
    """Median ms of the answer's ``to_dict()`` and of rendering that through its serializer."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kbsite.settings")
    os.environ.setdefault("DEBUG", "1")
    django.setup()
    from cpus.compat.api.schemas import PreflightSerializer

    dict_times, render_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        body = {"vm": vm.to_dict(), **answer.to_dict()}
        for number, entry in enumerate(body["destinations"]):
            entry["host_id"] = number  # the API adds each destination's catalog host id
        dict_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        PreflightSerializer(body).data  # noqa: B018 - rendering is what is timed
        render_times.append(time.perf_counter() - start)
    return {
        "to_dict_median_ms": round(statistics.median(dict_times) * 1000, 1),
        "serializer_median_ms": round(statistics.median(render_times) * 1000, 1),
    }


if __name__ == "__main__":
    main()
