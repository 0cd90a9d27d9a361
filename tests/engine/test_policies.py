"""Per-hypervisor policies on real dumps: VMware EVC admission by hardware assist, Hyper-V
processor compatibility mode, and KVM's CPUID virtualisation (docs/compatibility.md section 3,
docs/assists.md)."""

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpus.cpuid import baseline, compat, matrix
from cpus.cpuid.assists import KVM_CPUID_POLICY
from cpus.cpuid.baseline import HostView

OPTERON_248 = "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt"  # K8 rev C, 00000F5A
OPTERON_2210 = "aida64_Opteron2210HE_K8revF_SantaRosa_4S_libcpuid.txt"  # K8 rev F
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"  # stepping 6: intel-mask-v1
HARPERTOWN_E0 = "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt"  # stepping 10, has xsave
NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"  # intel-mask-v2
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
SKYLAKE_IN_VM = "libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SAPPHIRE = "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt"


def reasons(verdict, axis, severity=None):
    return [r for r in verdict.reasons if r.axis == axis and severity in (None, r.severity)]


def subset(host: HostView, *drop: str, label: str) -> HostView:
    """A real host with some of its features removed (never invented bits)."""
    mask = host.feature_mask
    for name in drop:
        mask &= ~baseline.TABLE.by_name[name].mask
    return replace(host, feature_mask=mask, label=label)


# --- VMware: EVC admission ------------------------------------------------------------------


def test_assists_is_an_axis():
    assert "assists" in compat.AXES


def test_opteron_248_has_no_override_msrs_and_supports_no_evc_mode(hosts):
    o248, o2210, barcelona = hosts[OPTERON_248], hosts[OPTERON_2210], hosts[BARCELONA]
    assert baseline.host_assists(o248).available_keys == []
    assert baseline.host_assists(o2210).available_keys == ["amd-cpuid-override"]
    pool = [o248, o2210, barcelona]
    result = baseline.compute(pool)
    # K8 rev C has no SSE3 (pni), which even amd-rev-e (Opteron Gen 1) needs: the pool has no
    # AMD EVC mode at all, and the pool view names the 248 as the reason.
    assert result.evc_modes == {"amd": None}
    [entry] = result.evc_blockers["amd"]
    assert entry["host"] == OPTERON_248
    assert entry["kind"] == "features" and entry["features"] == ["pni"]
    assert "no common EVC mode" in entry["reason"]
    assert "no CPUID override MSRs" in entry["reason"]
    assert result.to_dict()["evc_blockers"]["amd"][0]["host"] == OPTERON_248
    verdict = compat.check(o2210, barcelona, "baseline", "vmware", pool=pool)
    assert verdict.verdict == "blocked"
    assert any(OPTERON_248 in r.message for r in reasons(verdict, "features", "blocker"))
    # Without the 248 the pool runs amd-rev-f: both hosts have override MSRs, nothing blocks.
    without = baseline.compute([o2210, barcelona])
    assert without.evc_modes == {"amd": "amd-rev-f"}
    assert without.evc_blockers == {"amd": []}
    ok = compat.check(o2210, barcelona, "baseline", "vmware")
    assert ok.verdict == "safe-with-model" and ok.guest_model == "amd-rev-f"


def test_amd_hosts_with_override_msrs_are_masked_down_to_a_lower_mode(hosts):
    o2210, barcelona = hosts[OPTERON_2210], hosts[BARCELONA]
    verdict = compat.check(o2210, barcelona, "amd-rev-e", "vmware")
    assert verdict.verdict == "safe-with-model"
    infos = reasons(verdict, "assists", "info")
    assert len(infos) == 2 and all("amd-cpuid-override" in r.message for r in infos)
    assert "rdtscp" in infos[0].features  # rev F's rdtscp is above Opteron Gen 1


def test_the_248_is_blocked_by_features_not_assists_for_an_evc_mode(hosts):
    o248 = hosts[OPTERON_248]
    verdict = compat.check(o248, o248, "amd-rev-e", "vmware")
    assert verdict.verdict == "blocked"
    assert reasons(verdict, "features", "blocker")
    assert not reasons(verdict, "assists")  # it cannot run the mode at all: features axis


def test_harpertown_with_mask_v1_joins_intel_merom_and_nehalem_with_mask_v2(hosts):
    harpertown, nehalem = hosts[HARPERTOWN], hosts[NEHALEM]
    assert harpertown.identity.stepping == 6
    assert baseline.host_assists(harpertown).available_keys == ["intel-mask-v1"]
    assert baseline.host_assists(nehalem).available_keys == ["intel-mask-v2"]
    for source, destination in ((harpertown, nehalem), (nehalem, harpertown)):
        verdict = compat.check(source, destination, "intel-merom", "vmware")
        infos = reasons(verdict, "assists", "info")
        assert {("intel-mask-v1" in r.message, "intel-mask-v2" in r.message) for r in infos} == {
            (True, False),
            (False, True),
        }
        assert not reasons(verdict, "assists", "blocker")
    # Harpertown hides SSE4.1 (leaf 1, which v1 masks) to look like a Merom.
    forward = compat.check(harpertown, nehalem, "intel-merom", "vmware")
    assert forward.verdict == "safe-with-model"
    assert "sse4_1" in reasons(forward, "assists", "info")[0].features
    # At its own level (intel-penryn) Harpertown hides nothing, so no assist is involved.
    own = compat.check(harpertown, harpertown, "intel-penryn", "vmware")
    assert own.verdict == "safe-with-model" and not reasons(own, "assists")


def test_a_host_without_an_assist_blocks_a_lower_mode(hosts):
    """What-if: a Harpertown of stepping 2 (Xen: model 0x17 needs stepping >= 4 for the mask)
    with VT-x turned off in its BIOS, so ESXi cannot intercept CPUID (VMware KB 1003212: only a
    host with hardware virtualisation runs every lower mode; test_evc_admission has that case)."""
    harpertown, nehalem = hosts[HARPERTOWN], hosts[NEHALEM]
    no_vt = subset(harpertown, "vmx", label="Harpertown stepping 2")
    early = replace(
        no_vt,
        identity=replace(harpertown.identity, stepping=2),
        assists=None,  # derived from the identity, as the Django layer does
        label="Harpertown stepping 2",
    )
    assert baseline.host_assists(early).available_keys == []
    verdict = compat.check(early, nehalem, "intel-merom", "vmware")
    assert verdict.verdict == "blocked"
    [blocker] = reasons(verdict, "assists", "blocker")
    assert "Harpertown stepping 2 has no CPUID masking or faulting" in blocker.message
    assert "cannot join that EVC cluster" in blocker.message
    assert "intel-merom" in blocker.message and "sse4_1" in blocker.features
    # At its own level it needs no assist.
    assert compat.check(early, nehalem, "intel-penryn", "vmware").verdict == "safe-with-model"
    # A pool whose EVC mode is Merom (a Nehalem without SSE4.1) names it as the blocker.
    merom_class = subset(nehalem, "sse4_1", label="Nehalem without sse4_1")
    pool = [early, merom_class, harpertown]
    result = baseline.compute(pool)
    assert result.evc_modes == {"intel": "intel-merom"}
    assert [(e["host"], e["kind"]) for e in result.evc_blockers["intel"]] == [
        ("Harpertown stepping 2", "no-assist")
    ]
    blocked = compat.check(early, harpertown, "baseline", "vmware", pool=pool)
    assert blocked.verdict == "blocked" and reasons(blocked, "assists", "blocker")
    fine = compat.check(harpertown, merom_class, "baseline", "vmware", pool=pool)
    assert fine.verdict == "safe-with-model"


def test_mask_v1_cannot_hide_leaves_beyond_leaf_1(hosts):
    """What-if: a Skylake without VT-x whose only assist were Penryn's v1 mask (leaf 1 only)."""
    skylake = hosts[SKYLAKE]
    no_vt = subset(skylake, "vmx", label="v1 Skylake")
    v1_only = replace(no_vt, assists=baseline.host_assists(hosts[HARPERTOWN]))
    verdict = compat.check(v1_only, skylake, "intel-westmere", "vmware")
    assert verdict.verdict == "blocked"
    [blocker] = reasons(verdict, "assists", "blocker")
    assert "intel-mask-v1 (0x1.0:ECX, 0x1.0:EDX), which cannot hide" in blocker.message
    assert {"avx2", "rdtscp"} <= set(blocker.features)  # leaf 7 and 0x80000001
    assert "avx" not in blocker.features  # leaf 1: v1 hides it
    # The real Skylake has CPUID faulting, which covers every leaf.
    assert compat.check(skylake, skylake, "intel-westmere", "vmware").verdict == "safe-with-model"


def test_a_report_taken_in_a_vm_gives_host_assists_unknown(hosts):
    in_vm, harpertown = hosts[SKYLAKE_IN_VM], hosts[HARPERTOWN]
    verdict = compat.check(in_vm, harpertown, "intel-penryn", "vmware")
    [warning] = reasons(verdict, "assists", "warning")
    assert warning.message.startswith(
        'VMware EVC mode intel-penryn (Intel "Penryn" Generation): host assists unknown'
    )
    result = baseline.compute([in_vm, harpertown])
    assert result.evc_blockers == {"intel": []}
    assert any("host assists unknown" in note for note in result.notes)


def test_an_evc_mode_of_the_other_vendor_is_refused(hosts):
    barcelona, shanghai = hosts[BARCELONA], hosts[SHANGHAI]
    verdict = compat.check(barcelona, shanghai, "intel-merom", "vmware")
    assert verdict.verdict == "blocked"
    assert any("another vendor's mode" in r.message for r in reasons(verdict, "assists"))


# --- Hyper-V: processor compatibility mode --------------------------------------------------


def test_nehalem_to_harpertown_compatibility_mode_hides_sse4_2_and_popcnt(hosts):
    nehalem, harpertown = hosts[NEHALEM], hosts[HARPERTOWN]
    off = compat.check(nehalem, harpertown, "host-model", "hyperv")
    assert off.verdict == "blocked"
    assert {"sse4_2", "popcnt"} <= set(off.missing)
    on = compat.check(nehalem, harpertown, "host-model", "hyperv", hyperv_compatibility="2008r2")
    assert not {"sse4_2", "popcnt"} & set(on.missing)
    [info] = reasons(on, "features", "info")
    assert {"sse4_2", "popcnt", "ssse3", "sse4_1"} <= set(info.features)
    assert "Armstrong" in info.message
    # Still blocked: RDTSCP is not on the documented list; and the 40 -> 38 address bits are a
    # warning (Microsoft documents no rule); so no compatibility-mode suggestion for this pair.
    assert on.verdict == "blocked" and on.missing == ["rdtscp"]
    assert reasons(on, "address bits", "warning")
    assert off.suggestion is None or "hyperv_compatibility" not in off.suggestion
    assert on.to_dict()["hyperv_compatibility"] == "2008r2"


def test_compatibility_mode_unblocks_pairs_it_can_and_the_suggestion_says_so(hosts):
    # Opteron 248 (2003) -> EPYC 9124 (2023): Zen dropped 3DNow!, which 2008 R2 mode hides.
    o248, genoa = hosts[OPTERON_248], hosts[GENOA]
    off = compat.check(o248, genoa, "host-passthrough", "hyperv")
    assert off.verdict == "blocked" and off.missing == ["3dnow", "3dnowext"]
    assert off.suggestion["hyperv_compatibility"] == "2008r2"
    assert off.suggestion["verdict"] == "safe"
    assert off.suggestion["message"].startswith("enable processor compatibility mode (2008r2)")
    on = compat.check(o248, genoa, "host-passthrough", "hyperv", hyperv_compatibility="2008r2")
    assert on.verdict == "safe" and on.missing == []
    # Intel: Harpertown E0 (stepping 10, XSAVE) -> Harpertown C0 (stepping 6, no XSAVE).
    e0, c0 = hosts[HARPERTOWN_E0], hosts[HARPERTOWN]
    off = compat.check(e0, c0, "host-model", "hyperv")
    assert off.verdict == "blocked" and off.missing == ["xsave"]
    assert off.suggestion["hyperv_compatibility"] == "2008r2"
    assert compat.check(e0, c0, "host-model", "hyperv", hyperv_compatibility="2008r2").verdict in (
        "safe",
        "risky",  # /proc/cpuinfo report: absent means unknown
    )


def test_standard_mode_is_a_lower_bound_so_newer_gaps_only_warn(hosts):
    # Cascade Lake -> Sapphire Rapids: SPR has no MPX (a leaf 7 feature, newer than the list)
    cascade, sapphire = hosts[CASCADE], hosts[SAPPHIRE]
    off = compat.check(cascade, sapphire, "host-model", "hyperv")
    assert off.verdict == "blocked" and "mpx" in off.missing
    on = compat.check(cascade, sapphire, "host-model", "hyperv", hyperv_compatibility="standard")
    assert on.verdict == "risky" and "mpx" not in on.missing
    [warning] = [r for r in reasons(on, "features", "warning") if "lower bound" in r.message]
    assert warning.features == ("mpx",)
    assert off.suggestion["hyperv_compatibility"] == "standard"
    # AES is hidden by "standard" (Microsoft's example), not by 2008 R2.
    assert "aes" in reasons(on, "features", "info")[0].features


def test_compatibility_mode_arguments_are_checked(hosts):
    nehalem = hosts[NEHALEM]
    with pytest.raises(ValueError, match="hyperv"):
        compat.check(nehalem, nehalem, "host-model", "kvm", hyperv_compatibility="2008r2")
    with pytest.raises(ValueError, match="dynamic"):
        compat.check(nehalem, nehalem, "host-model", "hyperv", hyperv_compatibility="newest")


# --- KVM: CPUID is virtualised ----------------------------------------------------------------


def test_kvm_2008_pair_says_cpuid_is_virtualised_without_changing_the_level(demo):
    harpertown, _, shanghai = demo
    verdict = compat.check(harpertown, shanghai, "baseline", "kvm", pool=demo)
    [info] = reasons(verdict, "assists", "info")
    assert KVM_CPUID_POLICY in info.message and "crosses vendors" in info.message
    # The baseline pins the guest vendor, so the vendor reason is info too.
    assert verdict.verdict == "safe-with-model"
    assert "vendor=AuthenticAMD" in verdict.guest_model
    without_info = [r for r in verdict.reasons if r.severity != "info"]
    assert compat.level_of(without_info, named=True) == verdict.verdict


def test_kvm_info_also_across_generations_but_not_between_identical_cpus(hosts):
    barcelona, shanghai = hosts[BARCELONA], hosts[SHANGHAI]
    across = compat.check(barcelona, shanghai, "Opteron_G2,-svm", "kvm")
    assert "CPU generations" in reasons(across, "assists", "info")[0].message
    same = compat.check(barcelona, barcelona, "Opteron_G2,-svm", "kvm")
    assert not reasons(same, "assists")


# --- The same pair, three policies -------------------------------------------------------------


def test_the_same_pair_gets_three_different_explained_verdicts(demo):
    harpertown, barcelona, shanghai = demo
    kvm = compat.check(harpertown, shanghai, "baseline", "kvm", pool=demo)
    vmware = compat.check(harpertown, shanghai, "baseline", "vmware", pool=demo)
    hyperv = compat.check(harpertown, shanghai, "baseline", "hyperv", pool=demo)
    assert kvm.verdict == "safe-with-model"  # a common model with the vendor pinned
    assert reasons(kvm, "vendor", "info")
    assert vmware.verdict == "blocked" and reasons(vmware, "vendor", "blocker")
    assert hyperv.verdict == "blocked" and reasons(hyperv, "vendor", "blocker")
    assert reasons(kvm, "assists", "info")  # why KVM can: CPUID is virtualised
    assert any("VMware" in r.message for r in reasons(vmware, "vendor"))
    assert any("Hyper-V" in r.message for r in reasons(hyperv, "vendor"))
    # Within AMD: VMware masks both hosts down to the EVC mode with their override MSRs, KVM
    # needs no assist at all; both say so, differently.
    vm_amd = compat.check(shanghai, barcelona, "amd-rev-f", "vmware")
    assert vm_amd.verdict == "safe-with-model" and reasons(vm_amd, "assists", "info")
    kvm_amd = compat.check(shanghai, barcelona, "amd-rev-f", "kvm")
    assert reasons(kvm_amd, "assists", "info")[0].message != reasons(vm_amd, "assists")[0].message


# --- The matrix follows the new rules cell by cell ----------------------------------------------

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
POLICY_CASES = [
    ("host-passthrough", "hyperv", "2008r2"),
    ("host-model", "hyperv", "standard"),
    ("baseline", "hyperv", "standard"),
    ("Penryn,+popcnt", "hyperv", "2008r2"),
    ("intel-merom", "vmware", None),
    ("amd-rev-e", "vmware", None),
    ("intel-westmere,-sse4_1", "vmware", None),
    ("baseline", "vmware", None),
    ("host-passthrough", "hyperv", "dynamic"),
    ("Penryn,+vmx", "hyperv", "dynamic"),
    ("host-passthrough,+vmx", "vmware", None),
]


@SETTINGS
@given(data=st.data())
def test_matrix_equals_check_under_the_policies(real_hosts, data):
    count = data.draw(st.integers(1, 5))
    pool = []
    for _ in range(count):
        host = data.draw(st.sampled_from(real_hosts))
        if data.draw(st.booleans()):
            bits = [f.mask for f in baseline.TABLE.from_mask(host.feature_mask)]
            keep = data.draw(st.lists(st.sampled_from(bits), unique=True)) if bits else []
            host = replace(host, feature_mask=sum(keep), label=f"{host.label}*")
        if data.draw(st.booleans()):
            host = replace(host, assists=None)  # from the identity, as stored reports are
        pool.append(host)
    guest, hypervisor, mode = data.draw(st.sampled_from(POLICY_CASES))
    result = matrix.compute(pool, guest, hypervisor, hyperv_compatibility=mode)
    for i, source in enumerate(pool):
        for j, destination in enumerate(pool):
            verdict = compat.check(
                source, destination, guest, hypervisor, pool=pool, hyperv_compatibility=mode
            )
            assert result.verdict(i, j) == verdict.verdict, (i, j, verdict.reasons)
            assert result.missing[i, j] == verdict.missing_count
