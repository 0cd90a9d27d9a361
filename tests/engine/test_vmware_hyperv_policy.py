"""VMware and Hyper-V verdicts speak their own language (cpus/cpuid/policies/vmware.py, hyperv.py)
on real dumps."""

import itertools
import re
from dataclasses import replace

import pytest

from cpus.cpuid import compat, matrix
from cpus.cpuid.policies.vmware import evc_display
from cpus.cpuid.table import TABLE

HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"
WESTMERE = "aida64_XeonX5667_WestmereEP_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
KVM_WORDS = re.compile(
    r"phys-bits|maxphysaddr|tsc-frequency|QEMU|KVM|libvirt|nested-state|NESTED_STATE"
)


def of(verdict, axis):
    return [r for r in verdict.reasons if r.axis == axis]


@pytest.mark.parametrize("hypervisor", ["vmware", "hyperv"])
def test_no_kvm_advice_in_vmware_or_hyperv_verdicts(hosts, hypervisor):
    names = [HARPERTOWN, NEHALEM, WESTMERE, SKYLAKE, CASCADE, BARCELONA, SHANGHAI]
    guests = ["host-passthrough", "host-passthrough,+vmx", "baseline", "Penryn", "intel-merom"]
    # neutral labels: some dump file names contain "libvirt"
    labelled = {name: replace(hosts[name], label=f"host {i}") for i, name in enumerate(names)}
    for source, destination in itertools.product(names, repeat=2):
        for guest in guests:
            verdict = compat.check(labelled[source], labelled[destination], guest, hypervisor)
            for reason in verdict.reasons:
                assert not KVM_WORDS.search(reason.message), (guest, reason)
            if verdict.suggestion:
                assert not KVM_WORDS.search(verdict.suggestion["message"])


@pytest.mark.parametrize("hypervisor", ["vmware", "hyperv"])
def test_the_hypervisor_manages_the_tsc(hosts, hypervisor):
    westmere, nehalem = hosts[WESTMERE], hosts[NEHALEM]
    assert westmere.feature_mask & TABLE.by_name["invtsc"].mask
    stripped = replace(nehalem, feature_mask=nehalem.feature_mask & ~TABLE.by_name["invtsc"].mask)
    verdict = compat.check(westmere, stripped, "host-passthrough", hypervisor)
    assert not of(verdict, "tsc") and "invtsc" not in verdict.missing


def test_vmware_nested_virtualisation_only_when_asked(hosts):
    nehalem, westmere = hosts[NEHALEM], hosts[WESTMERE]
    assert nehalem.feature_mask & TABLE.by_name["vmx"].mask
    plain = compat.check(nehalem, westmere, "host-passthrough", "vmware")
    assert not of(plain, "nested virt")
    asked = compat.check(nehalem, westmere, "host-passthrough,+vmx", "vmware")
    [nested] = of(asked, "nested virt")
    assert nested.severity == "warning" and "vhv.enable" in nested.message


def test_vmware_evc_suggestion_shows_vcenter_display_names(hosts):
    nehalem, harpertown = hosts[NEHALEM], hosts[HARPERTOWN]
    verdict = compat.check(nehalem, harpertown, "host-passthrough", "vmware")
    assert verdict.suggestion["guest_cpu"] == "intel-penryn"
    assert evc_display("intel-penryn") in verdict.suggestion["message"]
    assert evc_display("intel-penryn") == 'intel-penryn (Intel "Penryn" Generation)'


def test_hyperv_nested_virtualisation_blocks_live_migration(hosts):
    nehalem = hosts[NEHALEM]
    assert compat.check(nehalem, nehalem, "host-passthrough", "hyperv").verdict == "safe"
    verdict = compat.check(nehalem, nehalem, "host-passthrough,+vmx", "hyperv")
    [nested] = of(verdict, "nested virt")
    assert verdict.verdict == "blocked" and nested.severity == "blocker"
    assert "ExposeVirtualizationExtensions" in nested.message


def test_hyperv_dynamic_mode_shows_the_pools_common_features(hosts):
    nehalem, harpertown, westmere = hosts[NEHALEM], hosts[HARPERTOWN], hosts[WESTMERE]
    pool = [nehalem, harpertown, westmere]
    off = compat.check(nehalem, harpertown, "host-passthrough", "hyperv", pool=pool)
    assert off.verdict == "blocked" and "rdtscp" in off.missing
    # 2008r2 and standard do not hide RDTSCP; dynamic mode does (Windows Server 2025)
    assert off.suggestion["hyperv_compatibility"] == "dynamic"
    assert "Windows Server 2025" in off.suggestion["message"]
    on = compat.check(
        nehalem, harpertown, "host-passthrough", "hyperv", pool=pool, hyperv_compatibility="dynamic"
    )
    assert on.missing == [] and on.verdict != "blocked"
    [info] = [r for r in of(on, "features") if "dynamic" in r.message]
    assert {"rdtscp", "popcnt", "sse4_2"} <= set(info.features)
    grid = matrix.compute(pool, "host-passthrough", "hyperv", hyperv_compatibility="dynamic")
    for i, source in enumerate(pool):
        for j, destination in enumerate(pool):
            cell = compat.check(
                source,
                destination,
                "host-passthrough",
                "hyperv",
                pool=pool,
                hyperv_compatibility="dynamic",
            )
            assert grid.verdict(i, j) == cell.verdict


def test_vmware_names_its_three_kinds_of_guest_cpu(hosts):
    harpertown, nehalem = hosts[HARPERTOWN], hosts[NEHALEM]

    def kind(guest):
        verdict = compat.check(harpertown, nehalem, guest, "vmware")
        [info] = [r for r in verdict.reasons if r.message.startswith("VMware guest CPU")]
        return info.message

    assert "no EVC" in kind("host-passthrough")
    assert 'cluster EVC mode intel-penryn (Intel "Penryn" Generation)' in kind("baseline")
    assert 'per-VM EVC mode intel-merom (Intel "Merom" Generation)' in kind("intel-merom")
