"""Where can this VM go (cpus/cpuid/preflight.py) and guest OS floors (cpus/cpuid/guest_os.py)."""

import pytest

from cpus.cpuid import baseline, compat, guest_os, preflight, vmconfig
from cpus.cpuid.baseline import host_view
from tests.engine.test_vmconfig import read


@pytest.mark.parametrize(
    "guest_cpu",
    [
        "host-passthrough",
        "host-model",
        "Penryn",
        "Opteron_G2,vendor=GenuineIntel",
        "baseline",
        "x86-64-v2",
    ],
)
@pytest.mark.parametrize("hypervisor", ["kvm", "vmware"])
def test_preflight_equals_the_pair_checks(real_hosts, guest_cpu, hypervisor):
    source, destinations = real_hosts[0], real_hosts
    answer = preflight.run(guest_cpu, source, destinations, hypervisor)
    assert len(answer.destinations) == len(destinations)
    for entry in answer.destinations:
        pair = compat.check(
            source, destinations[entry.index], guest_cpu, hypervisor, pool=real_hosts
        )
        assert (entry.verdict, entry.missing_count) == (pair.verdict, pair.missing_count), (
            entry.label
        )
        assert entry.missing == pair.missing
        assert entry.reasons == [reason.to_dict() for reason in pair.reasons]
    ranks = [preflight.RANK[entry.verdict] for entry in answer.destinations]
    assert ranks == sorted(ranks)


def test_preflight_of_parsed_vms_equals_pair_checks(hosts):
    source = hosts["aida64_XeonGold_SkylakeSP_libcpuid.txt"]
    destinations = list(hosts.values())
    for name in ("vm.yaml", "passthrough.xml", "cmdline.txt"):
        vm = vmconfig.parse(read(name))
        answer = preflight.run(vm.guest_cpu, source, destinations, vm.hypervisor)
        for entry in answer.destinations:
            pair = compat.check(source, destinations[entry.index], vm.guest_cpu, vm.hypervisor)
            assert entry.verdict == pair.verdict


def test_widen_is_the_best_single_change_and_really_gains(hosts):
    source = hosts["aida64_XeonGold_SkylakeSP_libcpuid.txt"]
    destinations = list(hosts.values())
    answer = preflight.run("Haswell-noTSX,+pcid", source, destinations, "kvm")
    widen = answer.widen
    assert widen is not None and widen["gained"] > 0
    again = preflight.run(widen["guest_cpu"], source, destinations, "kvm", widen=False)
    assert len(again.safe) == len(answer.safe) + widen["gained"] == widen["safe_after"]


def test_everywhere_safe_needs_no_widening(demo):
    harpertown = demo[0]
    answer = preflight.run("Penryn", harpertown, [harpertown, harpertown], "kvm")
    assert answer.widen is None and answer.counts["safe-with-model"] == 2


def test_rhel10_on_the_2008_pool_is_blocked_with_the_missing_features_named(demo):
    harpertown, barcelona, shanghai = demo
    verdict = compat.check(
        harpertown, shanghai, "baseline", "kvm", pool=list(demo), guest_os="rhel-10"
    )
    assert verdict.verdict == "blocked"
    blocker = next(r for r in verdict.reasons if r.message.startswith("RHEL 10 will not boot"))
    for feature in ("avx2", "bmi2", "fma", "avx", "movbe"):
        assert feature in blocker.features
    # What the 2008 pool lacks of x86-64-v3 is exactly what the message lists.
    pool = baseline.compute(list(demo))
    release = guest_os.get("rhel-10")
    assert set(blocker.features) == set(
        baseline.names(guest_os.lacking(pool.feature_mask, release))
    )
    # RHEL 8 has no floor beyond x86-64: the same pool runs it.
    fine = compat.check(harpertown, shanghai, "baseline", "kvm", pool=list(demo), guest_os="rhel-8")
    assert (
        fine.verdict
        == compat.check(harpertown, shanghai, "baseline", "kvm", pool=list(demo)).verdict
    )
    answer = preflight.run("baseline", harpertown, list(demo), "kvm", guest_os_key="RHEL 10")
    assert answer.guest_os["boots"] is False
    assert {entry.verdict for entry in answer.destinations} == {"blocked"}


def test_guest_os_catalog_floors():
    v2 = set(baseline.names(guest_os.get("rhel-9").floor_mask))
    assert {"sse4_2", "popcnt", "cx16", "ssse3"} <= v2 and "avx2" not in v2
    assert guest_os.find("Rocky Linux 9").id == "rhel-9"
    windows = set(baseline.names(guest_os.get("windows-server-2025").floor_mask))
    assert {"sse4_2", "popcnt", "cx16", "lahf_lm", "nx"} <= windows
    unpublished = [r.id for r in guest_os.catalog() if not r.published]
    assert "ubuntu-24.04" in unpublished and "rhel-9" not in unpublished
    with pytest.raises(ValueError, match="unknown guest OS"):
        guest_os.get("beos-5")


def test_pool_runs_which_guest_oses(demo, hosts):
    pool = baseline.compute(list(demo))
    runs = {entry["id"]: entry["runs"] for entry in guest_os.runnable(pool.feature_mask)}
    assert runs["rhel-10"] is False and runs["rhel-9"] is False and runs["rhel-8"] is True
    sapphire = host_view(hosts["aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt"])
    assert all(e["runs"] for e in guest_os.runnable(sapphire.feature_mask))


def test_a_large_pool_is_reduced_without_changing_the_baseline_guest(real_hosts):
    # 1,200 hosts: many more AMD than Intel copies, so the majority vendor is what counts.
    amd = [h for h in real_hosts if h.vendor == "AuthenticAMD"]
    intel = [h for h in real_hosts if h.vendor == "GenuineIntel"]
    pool = [amd[i % len(amd)] for i in range(800)] + [intel[i % len(intel)] for i in range(400)]
    reduced = preflight.reduced_pool(pool)
    assert len(reduced) < 100
    full, small = baseline.compute(pool), baseline.compute(reduced)
    assert full.majority_vendor == small.majority_vendor == "AuthenticAMD"
    assert (full.feature_mask, full.qemu_spec, full.evc_modes, full.guest_phys_bits) == (
        small.feature_mask,
        small.qemu_spec,
        small.evc_modes,
        small.guest_phys_bits,
    )
    answer = preflight.run("baseline", pool[0], pool, "kvm", widen=False)
    assert answer.to_dict()["reasons_inline"] is False
    for entry in answer.destinations[:: len(pool) // 40]:
        pair = compat.check(pool[0], pool[entry.index], "baseline", "kvm", pool=pool)
        assert entry.verdict == pair.verdict
        assert answer.classes[entry.klass]["reasons"] == [r.to_dict() for r in pair.reasons]


def test_without_a_source_a_named_model_is_asked_where_it_could_start(real_hosts):
    answer = preflight.run_without_source("Penryn", real_hosts, "kvm", guest_os_key="rhel-8")
    assert len(answer.destinations) == len(real_hosts)
    for entry in answer.destinations:
        host = real_hosts[entry.index]
        pair = compat.check(host, host, "Penryn", "kvm", guest_os="rhel-8")
        assert entry.verdict == pair.verdict and entry.missing == pair.missing
    with pytest.raises(ValueError, match="source"):
        preflight.run_without_source("host-passthrough", real_hosts, "kvm")
