"""VMware EVC admission by KB 1003212 on real dumps: a CPU that supports an EVC mode supports
every lower mode of its vendor; with VT-x/AMD-V the hiding needs no masking hardware
(docs/baselines-and-exports.md, "EVC admission")."""

from dataclasses import replace

import pytest

from cpus.cpuid import baseline, compat, guest_models
from cpus.cpuid.assists import AssistReport
from cpus.cpuid.table import TABLE

NAPLES = "libcpuidraw_EPYC7551P_Naples.txt"
GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
MILAN_IN_KVM = "thismachine_kvm_EPYC-Milan_cpuid-r.txt"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
OPTERON_2210 = "aida64_Opteron2210HE_K8revF_SantaRosa_4S_libcpuid.txt"
HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
SKYLAKE_IN_VM = "libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt"


def assists_reasons(verdict, severity=None):
    return [r for r in verdict.reasons if r.axis == "assists" and severity in (None, r.severity)]


def without(host, *drop, **changes):
    mask = host.feature_mask
    for name in drop:
        mask &= ~TABLE.by_name[name].mask
    return replace(host, feature_mask=mask, **changes)


def test_evc_modes_are_cumulative_along_their_documented_edges():
    """KB 1003212's rule in data: every mode has all the features of the modes it extends, and
    AMD's no-3DNow! mode is a fork (Bulldozer and Zen extend it, not Gen 3 with 3DNow!)."""
    modes = {m.name: m for m in guest_models.models_of("vmware-evc")}
    for mode in modes.values():
        for parent in mode.extends:
            if parent in modes:
                assert modes[parent].feature_mask & ~mode.feature_mask == 0, (mode.name, parent)
    assert modes["amd-bulldozer"].extends == ("amd-greyhound-no3dnow",)
    assert modes["amd-zen"].extends == ("amd-greyhound-no3dnow",)
    assert modes["amd-greyhound"].feature_mask & ~modes["amd-zen"].feature_mask  # 3DNow!


@pytest.mark.parametrize("cpu", [NAPLES, GENOA, MILAN_IN_KVM])
def test_every_zen_host_is_admitted_to_every_lower_mode(hosts, cpu):
    host = hosts[cpu]
    supported = baseline.evc_modes_supported(
        host.feature_mask | host.known_absent_unknown, "AuthenticAMD"
    )
    keys = [m.name for m in supported]
    assert {"amd-rev-e", "amd-rev-f", "amd-greyhound-no3dnow", "amd-zen"} <= set(keys)
    assert "amd-greyhound" not in keys  # Zen dropped 3DNow!
    for mode in supported:
        admission = baseline.evc_admission(mode.feature_mask, mode.name, mode.vendor, host)
        assert admission.severity in (None, "info"), (mode.name, admission)
        if admission.kind is not None:
            assert admission.kind == "intercepted"


def test_a_zen_pool_gets_its_evc_mode(hosts):
    pool = [hosts[NAPLES], hosts[GENOA], hosts[MILAN_IN_KVM]]
    result = baseline.compute(pool)
    assert result.evc_mode == "amd-zen"
    assert result.evc_blockers == {"amd": []}
    # Naples' raw dump has no CPUID 0xD.1 row: the mode assumes it and a note says so.
    assert any("amd-zen" in n and "xsaveopt" in n and NAPLES in n for n in result.notes)
    verdict = compat.check(hosts[GENOA], hosts[NAPLES], "baseline", "vmware", pool=pool)
    assert verdict.guest_model == "amd-zen"
    assert not assists_reasons(verdict, "blocker") and not assists_reasons(verdict, "warning")
    [source] = assists_reasons(verdict, "info")  # Naples runs amd-zen at its own level
    # Genoa hides what Zen 2-4 added; its masking/faulting assists are shown as history.
    assert "AMD-V (enumerated" in source.message and "amd-cpuid-user-dis" in source.message
    assert {"clwb", "pku", "vaes"} & set(source.features)
    # The Milan report comes from inside KVM, which runs only on AMD-V: inferred.
    milan = compat.check(hosts[MILAN_IN_KVM], hosts[GENOA], "amd-rev-f", "vmware")
    [info, _] = assists_reasons(milan, "info")
    assert "AMD-V (inferred" in info.message and "KVM" in info.message
    assert not assists_reasons(milan, "warning") and not assists_reasons(milan, "blocker")


def test_genoa_to_naples_at_zen_is_not_blocked_by_assists(hosts):
    verdict = compat.check(hosts[GENOA], hosts[NAPLES], "amd-zen", "vmware")
    assert not assists_reasons(verdict, "blocker")
    assert all(r.severity == "info" for r in assists_reasons(verdict))
    assert 'AMD "Zen" Generation' in assists_reasons(verdict)[0].message  # vCenter's name


@pytest.mark.parametrize("mode", ["amd-rev-e", "amd-rev-f", "amd-greyhound-no3dnow"])
def test_shanghai_is_admitted_to_the_lower_amd_modes(hosts, mode):
    shanghai, barcelona = hosts[SHANGHAI], hosts[BARCELONA]
    verdict = compat.check(shanghai, barcelona, mode, "vmware")
    assert verdict.verdict == "safe-with-model" and verdict.guest_model == mode
    infos = assists_reasons(verdict, "info")
    assert len(infos) == 2 and all("below its own feature level" in r.message for r in infos)


def test_shanghai_is_not_admitted_above_its_level(hosts):
    shanghai = hosts[SHANGHAI]
    verdict = compat.check(shanghai, shanghai, "amd-bulldozer", "vmware")
    assert verdict.verdict == "blocked"
    assert any(r.axis == "features" and r.severity == "blocker" for r in verdict.reasons)


def test_a_harpertown_without_its_mask_still_joins_merom_with_vt_x(hosts):
    """The 2008 rule (a masking assist is a condition) is history on a VT-x host."""
    harpertown = hosts[HARPERTOWN]
    no_mask = replace(harpertown, assists=AssistReport("GenuineIntel", ()), label="no mask")
    verdict = compat.check(no_mask, harpertown, "intel-merom", "vmware")
    assert verdict.verdict == "safe-with-model"
    assert "VT-x (enumerated" in assists_reasons(verdict, "info")[0].message


def test_hosts_without_hardware_virtualisation_keep_the_assist_rules(hosts):
    """What-if on a real K8 rev F: without AMD-V, only its override MSRs can hide rdtscp."""
    o2210, barcelona = hosts[OPTERON_2210], hosts[BARCELONA]
    no_svm = without(o2210, "svm", label="2210 without AMD-V")
    masked = baseline.evc_admission(
        guest_models.find("amd-rev-e").feature_mask, "amd-rev-e", "AuthenticAMD", no_svm
    )
    assert masked.kind == "masked" and "rdtscp" in baseline.names(masked.hide)
    bare = replace(no_svm, assists=AssistReport("AuthenticAMD", ()), label="bare 2210")
    verdict = compat.check(bare, barcelona, "amd-rev-e", "vmware")
    assert verdict.verdict == "blocked"
    [blocker] = assists_reasons(verdict, "blocker")
    assert "has no CPUID override MSRs" in blocker.message and "no AMD-V" in blocker.message


def test_a_report_from_an_unknown_hypervisor_keeps_host_assists_unknown(hosts):
    in_vm = hosts[SKYLAKE_IN_VM]
    assert in_vm.identity.hypervisor_vendor is None
    assert baseline.hardware_virtualisation(in_vm)[0] is None
    verdict = compat.check(in_vm, hosts[SKYLAKE], "intel-penryn", "vmware")
    [warning] = assists_reasons(verdict, "warning")
    assert warning.message.startswith("VMware EVC mode intel-penryn")
    assert "host assists unknown" in warning.message


def test_highest_mode_follows_the_vendor_order_not_the_alphabet(hosts):
    shanghai = hosts[SHANGHAI]
    highest = baseline.evc_mode_for(shanghai.feature_mask, "AuthenticAMD")
    assert highest.name == "amd-greyhound"
    assert highest.vcenter_name == "AMD Opteron Generation 3"
    assert (
        max(m.name for m in baseline.evc_modes_supported(shanghai.feature_mask, "AuthenticAMD"))
        == "amd-rev-f"
    )


def test_every_evc_mode_has_a_vcenter_name():
    names = guest_models.evc_vcenter_names()
    assert names["intel-penryn"] == 'Intel "Penryn" Generation'
    assert names["amd-greyhound-no3dnow"] == "AMD Opteron Generation 3 (no 3DNow!)"
    assert names["amd-zen2"] == 'AMD "Zen 2" Generation'
    assert all(names.values()) and list(names) == guest_models.evc_mode_keys()
    for mode in guest_models.models_of("vmware-evc"):
        assert mode.vcenter_name == names[mode.name]
        assert mode.to_dict()["vcenter_name"] == mode.vcenter_name
