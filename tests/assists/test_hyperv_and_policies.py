"""Hyper-V processor compatibility mode and what each hypervisor needs (cpus.cpuid.assists)."""

import json

import pytest

from cpus.cpuid import TABLE, policies
from cpus.cpuid.assists import (
    DATA,
    HYPERV_MODES,
    KVM_CPUID_POLICY,
    hyperv_compatibility,
    hyperv_dynamic_visible_mask,
    hyperv_hidden_mask,
    hyperv_visible_mask,
)
from cpus.cpuid.policies import kvm

ARMSTRONG_2009 = {
    # Ben Armstrong, MSDN blog, 2009-06-09: "The features you lose are as follows"
    "amd": [
        "SSSE3",
        "SSE4.1",
        "SSE4.A",
        "SSE5",
        "POPCNT",
        "LZCNT",
        "Misaligned SSE",
        "AMD 3DNow!",
        "Extended AMD 3DNow!",
    ],
    "intel": ["SSSE3", "SSE4.1", "SSE4.2", "POPCNT", "Misaligned SSE", "XSAVE", "AVX"],
}


@pytest.mark.parametrize("vendor", ["intel", "amd"])
def test_2008_r2_list_is_the_published_one_in_order(vendor):
    compatibility = hyperv_compatibility(vendor, "2008r2")

    assert [entry.documented_as for entry in compatibility.hidden] == ARMSTRONG_2009[vendor]
    assert compatibility.complete
    assert any("virtual_pc_guy/2009/06/09" in source for source in compatibility.sources)


def test_2008_r2_hidden_features_map_to_these_bits():
    assert hyperv_compatibility("intel").hidden_names == sorted(
        ["ssse3", "sse4_1", "sse4_2", "popcnt", "misalignsse", "xsave", "avx"]
    )
    assert hyperv_compatibility("amd").hidden_names == sorted(
        ["ssse3", "sse4_1", "sse4a", "xop", "popcnt", "abm", "misalignsse", "3dnow", "3dnowext"]
    )


@pytest.mark.parametrize("mode", ["2008r2", "standard"])
@pytest.mark.parametrize("vendor", ["intel", "amd"])
def test_every_hidden_feature_resolves_in_the_table(vendor, mode):
    compatibility = hyperv_compatibility(vendor, mode)

    for entry in compatibility.hidden:
        assert entry.features, entry.documented_as
        for name in entry.features:
            feature = TABLE.lookup(name)
            assert feature is not None and feature.name == name
            assert feature.is_cpu_feature
    assert compatibility.hidden_mask == TABLE.mask_of(
        TABLE.by_name[name] for name in compatibility.hidden_names
    )


def test_sse5_and_lzcnt_are_mapped_to_the_bits_that_enumerate_them():
    amd = {entry.documented_as: entry for entry in hyperv_compatibility("amd").hidden}

    assert TABLE.lookup("sse5", "linux") is TABLE.by_name["xop"]
    assert amd["SSE5"].features == ("xop",) and "0x80000001 ECX[11]" in amd["SSE5"].note
    assert amd["LZCNT"].features == ("abm",)
    assert TABLE.by_name["abm"].location == "CPUID 0x80000001.0:ECX[5]"


def test_standard_mode_is_a_lower_bound_that_adds_aes():
    for vendor in ("intel", "amd"):
        standard = hyperv_compatibility(vendor, "standard")
        r2 = hyperv_compatibility(vendor, "2008r2")

        assert set(standard.hidden_names) == set(r2.hidden_names) | {"aes"}
        assert not standard.complete
        assert "5.2.11" in standard.note
        assert any("processor-compatibility-mode-hyper-v" in s for s in standard.sources)


def test_dynamic_mode_has_no_fixed_hidden_set():
    dynamic = hyperv_compatibility("intel", "dynamic")

    assert dynamic.hidden == ()
    assert any("dynamic-processor-compatibility-mode" in s for s in dynamic.sources)
    with pytest.raises(ValueError, match="no fixed hidden set"):
        hyperv_hidden_mask("intel", "dynamic")


def test_dynamic_mode_shows_the_features_common_to_every_node():
    a = TABLE.mask_of(TABLE.by_name[n] for n in ("sse2", "ssse3", "avx", "avx2"))
    b = TABLE.mask_of(TABLE.by_name[n] for n in ("sse2", "ssse3", "avx"))

    assert hyperv_dynamic_visible_mask([a, b]) == b
    with pytest.raises(ValueError):
        hyperv_dynamic_visible_mask([])


def test_vendor_strings_are_accepted_and_other_vendors_refused():
    assert hyperv_hidden_mask("GenuineIntel") == hyperv_hidden_mask("intel")
    assert hyperv_hidden_mask("AuthenticAMD") == hyperv_hidden_mask("amd")
    with pytest.raises(ValueError, match="Intel and AMD only"):
        hyperv_compatibility("CentaurHauls")
    with pytest.raises(ValueError, match="unknown Hyper-V compatibility mode"):
        hyperv_compatibility("intel", "2012")


def test_harpertown_in_2008_r2_mode_loses_ssse3_and_sse4_1_only(dump):
    decoded = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")

    visible = hyperv_visible_mask(decoded.feature_mask, decoded.identity.vendor)

    lost = {f.name for f in TABLE.from_mask(decoded.feature_mask & ~visible)}
    assert lost == {"ssse3", "sse4_1"}
    assert visible & TABLE.by_name["sse2"].mask and visible & TABLE.by_name["pni"].mask


def test_barcelona_in_2008_r2_mode_loses_its_amd_extensions(dump):
    decoded = dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml")

    visible = hyperv_visible_mask(decoded.feature_mask, "amd")

    lost = {f.name for f in TABLE.from_mask(decoded.feature_mask & ~visible)}
    assert {"sse4a", "popcnt", "abm", "misalignsse", "3dnow", "3dnowext"} <= lost
    assert visible & TABLE.by_name["cx16"].mask


def test_data_file_modes_match_the_module():
    data = json.loads(DATA.read_text())

    assert tuple(data["hyperv_modes"]) == HYPERV_MODES
    assert all(source.count("http") >= 1 for source in data["sources"].values())


# --- hypervisor policies (the registry in cpus.cpuid.policies) ---


def test_kvm_needs_no_assist_because_cpuid_always_exits():
    kvm_policy = policies.get("kvm")

    assert kvm.kvm_cpuid_virtualised in kvm_policy.rules
    assert "VT-x" in KVM_CPUID_POLICY and "AMD-V" in KVM_CPUID_POLICY
    assert "KVM_SET_CPUID2" in KVM_CPUID_POLICY


def test_the_registry_lists_each_hypervisor_once():
    assert set(policies.HYPERVISORS) == {"kvm", "vmware", "hyperv"}
    assert len(policies.HYPERVISORS) == len(set(policies.HYPERVISORS))


def test_unknown_hypervisor_is_refused():
    with pytest.raises(ValueError, match="unknown hypervisor"):
        policies.get("bhyve")
