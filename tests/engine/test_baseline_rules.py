"""Pool merge rules, model fitting, EVC modes, x86-64 levels and the guest model catalog."""

import json
from dataclasses import replace

import pytest

from cpus.cpuid import baseline, guest_models
from cpus.cpuid.table import TABLE

NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"
WESTMERE = "aida64_XeonX5667_WestmereEP_libcpuid.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
NAPLES = "libcpuidraw_EPYC7551P_Naples.txt"
GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
SHANGHAI_2009 = "proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt"
QMP = "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl"
MILAN_RAW = "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt"
MILAN_CPUINFO = "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt"


def mask(*names):
    return TABLE.mask_of(TABLE.by_name[name] for name in names)


def test_non_migratable_host_only_and_nested_bits_are_left_out(hosts):
    pool = baseline.compute([hosts[NEHALEM], hosts[WESTMERE]])
    assert "invtsc" in baseline.names(pool.left_out["not migratable"])
    assert "vmx" in baseline.names(pool.left_out["nested virtualisation"])
    assert "dtherm" in baseline.names(pool.left_out["host-only"])
    assert not pool.feature_mask & mask("invtsc", "vmx", "dtherm", "monitor", "ht", "hypervisor")


def test_vulnerability_no_bits_intersect(hosts):
    qmp = hosts[QMP]  # QEMU's view on this machine shows IA32_ARCH_CAPABILITIES bits
    assert qmp.feature_mask & mask("mds_no")
    assert baseline.compute([qmp]).feature_mask & mask("mds_no")
    affected = replace(qmp, feature_mask=qmp.feature_mask & ~mask("mds_no"))
    assert not baseline.compute([qmp, affected]).feature_mask & mask("mds_no")


def test_mitigations_intersect_and_the_hosts_lacking_them_are_named(hosts):
    cascade = hosts[CASCADE]
    old = replace(cascade, feature_mask=cascade.feature_mask & ~mask("md_clear"), label="old")
    pool = baseline.compute([cascade, old])
    assert not pool.feature_mask & mask("md_clear")
    assert any("md_clear" in note and "old" in note for note in pool.notes)


def test_unknown_features_of_name_based_reports_stay_out_and_are_listed(hosts):
    raw, names_only = hosts[MILAN_RAW], hosts[MILAN_CPUINFO]
    pool = baseline.compute([raw, names_only])
    # Linux never prints these bits, so /proc/cpuinfo cannot show them: unknown, not absent
    assert baseline.names(pool.unknown_mask) == [
        "amd_psfd",
        "lfence_rdtsc",
        "no_smm_ctl_msr",
        "shstk",
    ]
    assert not pool.feature_mask & pool.unknown_mask
    assert pool.unknown_mask & ~raw.feature_mask == 0
    assert any("name-based reports" in note for note in pool.notes)
    # the 2009 kernel's unnamed Shanghai bits are all outside a migratable baseline anyway
    assert baseline.compute([hosts[SHANGHAI], hosts[SHANGHAI_2009]]).unknown_mask == 0


def test_single_vendor_pool_has_one_evc_mode(hosts):
    assert baseline.compute([hosts[NEHALEM], hosts[WESTMERE]]).evc_mode == "intel-nehalem"
    assert baseline.compute([hosts[CASCADE], hosts[SKYLAKE]]).evc_mode == "intel-skylake"
    assert baseline.compute([hosts[GENOA]]).evc_mode == "amd-zen3"
    # the Naples dump has no CPUID 0xD.1 row: xsaveopt/xsavec/xgetbv1 unknown; EVC support
    # follows the CPU (KB 1003212), so the pool keeps amd-zen and a note names what is assumed
    zen = baseline.compute([hosts[NAPLES], hosts[GENOA]])
    assert zen.evc_mode == "amd-zen"
    assert any("assumes these hosts have xgetbv1, xsavec, xsaveopt" in n for n in zen.notes)
    assert not zen.feature_mask & zen.unknown_mask  # the KVM baseline still leaves them out
    assert baseline.compute([hosts[SHANGHAI], hosts[NAPLES]]).evc_mode == "amd-greyhound-no3dnow"


def test_evc_partial_order_forks_at_no_3dnow():
    modes = {m.name: m.feature_mask for m in guest_models.models_of("vmware-evc")}

    def below(a, b):
        return modes[a] & ~modes[b] == 0 and a != b

    assert below("amd-rev-e", "amd-rev-f") and below("amd-rev-f", "amd-greyhound-no3dnow")
    assert below("amd-greyhound-no3dnow", "amd-greyhound")
    assert below("amd-greyhound-no3dnow", "amd-bulldozer")
    assert below("amd-greyhound-no3dnow", "amd-zen")
    assert not below("amd-greyhound", "amd-bulldozer")
    assert not below("amd-greyhound", "amd-zen")
    assert not below("amd-piledriver", "amd-zen")  # Zen dropped xop, fma4, tbm
    intel = [m.name for m in guest_models.models_of("vmware-evc") if m.vendor == "GenuineIntel"]
    assert all(below(a, b) for a, b in zip(intel, intel[1:], strict=False))


def test_evc_data_names_its_source_for_every_mode():
    document = json.loads(guest_models.EVC_DATA.read_text())
    keys = [mode["key"] for mode in document["modes"]]
    assert keys[:2] == ["intel-merom", "intel-penryn"]
    assert {"amd-rev-e", "amd-rev-f", "amd-greyhound-no3dnow", "amd-zen4"} <= set(keys)
    for mode in document["modes"]:
        assert mode["source"].startswith(("derived: ", "not derivable: "))
        assert (mode["features"] is None) == mode["source"].startswith("not derivable")


def test_x86_64_levels(hosts):
    assert baseline.compute([hosts[NEHALEM]]).x86_64_level == "x86-64-v2"
    assert baseline.compute([hosts[NAPLES]]).x86_64_level == "x86-64-v3"
    assert baseline.compute([hosts[CASCADE]]).x86_64_level == "x86-64-v4"
    assert baseline.compute([hosts[CASCADE], hosts[NAPLES]]).x86_64_level == "x86-64-v3"
    levels = guest_models.models_of("x86-64-level")
    assert [m.name for m in levels] == ["x86-64-v1", "x86-64-v2", "x86-64-v3", "x86-64-v4"]
    assert "lzcnt" not in levels[2].feature_names("linux")
    assert {"abm", "movbe", "xsave", "avx2"} <= set(levels[2].feature_names("linux"))


def test_fitting_prefers_the_majority_vendor_then_fewest_edits(hosts):
    pool = baseline.compute([hosts[CASCADE], hosts[NAPLES], hosts[SKYLAKE]])
    assert pool.majority_vendor == "GenuineIntel"
    assert pool.qemu_model.model.vendor == "GenuineIntel"
    amd = baseline.compute([hosts[CASCADE], hosts[NAPLES], hosts[GENOA]])
    assert amd.qemu_model.model.vendor == "AuthenticAMD"


def test_fitting_skips_models_that_are_not_migration_safe():
    names = {m.name for m in guest_models.models_of("qemu")}
    assert not {"host", "max", "base"} & names


def test_empty_pool_is_refused():
    with pytest.raises(ValueError):
        baseline.compute([])


def test_guest_model_catalog_has_every_source():
    models = guest_models.all_guest_models()
    sources = {m.source for m in models}
    assert sources == set(guest_models.SOURCES)
    opteron = guest_models.find("Opteron_G2")
    assert (opteron.source, opteron.name, opteron.aliases) == (
        "qemu",
        "Opteron_G2-v1",
        ("Opteron_G2",),
    )
    assert opteron.migration_safe and not opteron.deprecated
    assert guest_models.find("libvirt:Opteron_G2").source == "libvirt"
    assert not opteron.feature_mask & mask("hypervisor")
    record = opteron.to_dict()
    assert {"name", "source", "vendor", "features", "origin", "aliases"} <= set(record)
