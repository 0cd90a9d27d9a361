"""Which CPUID masking / override / faulting mechanism each host CPU has (cpus.cpuid.assists)."""

import ast
import json
from pathlib import Path

import pytest

from cpus.cpuid import TABLE, Identity
from cpus.cpuid.assists import (
    CONFIDENCES,
    IN_VM_EXPLANATION,
    MECHANISMS,
    assists_of,
    migration_assists,
)
from tests.samples import DUMPS

INTEL = "GenuineIntel"
AMD = "AuthenticAMD"


def intel(model, stepping=None, family=6, **extra):
    return Identity(vendor=INTEL, family=family, model=model, stepping=stepping, **extra)


def amd(family, model=0, stepping=0, **extra):
    return Identity(vendor=AMD, family=family, model=model, stepping=stepping, **extra)


# --- the seed CPUs, from their real dumps ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("aida64_XeonE5462_Harpertown_2S_libcpuid.txt", ["intel-mask-v1"]),
        ("libcpuidraw_XeonE5420_Harpertown.txt", ["intel-mask-v1"]),
        ("proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt", ["intel-mask-v1"]),
        ("libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt", ["intel-mask-v2"]),
        ("libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml", ["intel-mask-v2"]),
        ("aida64_XeonX5667_WestmereEP_libcpuid.txt", ["intel-mask-v2"]),
        ("aida64_XeonGold_SkylakeSP_libcpuid.txt", ["intel-cpuid-faulting"]),
        ("aida64_XeonGold_CascadeLakeSP_libcpuid.txt", ["intel-cpuid-faulting"]),
        ("aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt", ["intel-cpuid-faulting"]),
        ("aida64_Opteron248_K8_SledgeHammer_libcpuid.txt", []),
        ("aida64_Opteron2210HE_K8revF_SantaRosa_4S_libcpuid.txt", ["amd-cpuid-override"]),
        ("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml", ["amd-cpuid-override"]),
        ("libvirt_cputestdata_x86_64-cpuid-Opteron-2350-host.xml", ["amd-cpuid-override"]),
        ("aida64_Opteron2344HE_Barcelona_libcpuid.txt", ["amd-cpuid-override"]),
        ("aida64_Opteron2378_Shanghai_2S_libcpuid.txt", ["amd-cpuid-override"]),
        ("proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt", ["amd-cpuid-override"]),
        ("aida64_Opteron2431_Istanbul_2S_libcpuid.txt", ["amd-cpuid-override"]),
        ("libcpuidraw_EPYC7551P_Naples.txt", ["amd-cpuid-override"]),
        ("aida64_EPYC9124_Genoa_libcpuid.txt", ["amd-cpuid-user-dis", "amd-cpuid-override"]),
    ],
)
def test_seed_cpus_get_their_generations_assists(dump, name, expected):
    report = assists_of(dump(name))

    assert report.keys == expected
    assert report.available_keys == expected
    assert not report.host_unknown


def test_harpertown_e5462_stepping_6_has_the_v1_mask_on_leaf_1_only(dump):
    decoded = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    assert (decoded.identity.model, decoded.identity.stepping) == (0x17, 6)

    v1 = assists_of(decoded).get("intel-mask-v1")

    assert v1.confidence == "inferred"
    assert v1.leaves == ((0x1, 0, "ecx"), (0x1, 0, "edx"))
    assert [msr.index for msr in v1.msrs] == [0x478]
    assert v1.hideable_mask & TABLE.by_name["ssse3"].mask
    assert v1.hideable_mask & TABLE.by_name["sse4_1"].mask
    assert not v1.hideable_mask & TABLE.by_name["lahf_lm"].mask  # 0x80000001: v2 and later


def test_nehalem_e5520_has_the_v2_masks_on_leaves_1_and_80000001(dump):
    v2 = assists_of(dump("libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt")).get("intel-mask-v2")

    assert v2.leaves_text == ["0x1.0:ECX", "0x1.0:EDX", "0x80000001.0:ECX", "0x80000001.0:EDX"]
    assert [msr.index for msr in v2.msrs] == [0x130, 0x131]
    assert v2.hideable_mask & TABLE.by_name["lahf_lm"].mask


def test_skylake_sp_faulting_is_inferred_from_the_model_with_the_msr_caveat(dump):
    faulting = assists_of(dump("aida64_XeonGold_SkylakeSP_libcpuid.txt")).get(
        "intel-cpuid-faulting"
    )

    assert faulting.confidence == "inferred"
    assert faulting.all_leaves
    assert faulting.leaves_text == ["all leaves"]
    assert [msr.index for msr in faulting.msrs] == [0xCE, 0x140]
    assert any("MSR_PLATFORM_INFO" in caveat and "likely" in caveat for caveat in faulting.caveats)
    every_cpuid_bit = TABLE.mask_of(f for f in TABLE if f.msr is None)
    assert faulting.hideable_mask == every_cpuid_bit


def test_genoa_cpuid_user_dis_is_enumerated_from_the_raw_leaf(dump):
    decoded = dump("aida64_EPYC9124_Genoa_libcpuid.txt")
    assert decoded.cpuid[(0x80000021, 0)][0] >> 17 & 1

    user_dis = assists_of(decoded).get("amd-cpuid-user-dis")

    assert user_dis.confidence == "enumerated"
    assert user_dis.caveats == ()
    assert user_dis.msrs[0].index == 0xC0010015


def test_genoa_override_adds_the_leaf_7_msr_and_the_family_15h_caveat(dump):
    override = assists_of(dump("aida64_EPYC9124_Genoa_libcpuid.txt")).get("amd-cpuid-override")

    assert [msr.index for msr in override.msrs] == [0xC0011004, 0xC0011005, 0xC0011002]
    assert (0x7, 0, "ebx") in override.leaves
    assert override.hideable_mask & TABLE.by_name["avx2"].mask
    assert any("not fully effective" in caveat for caveat in override.caveats)


def test_k8_rev_f_override_needs_the_password(dump):
    override = assists_of(dump("aida64_Opteron2210HE_K8revF_SantaRosa_4S_libcpuid.txt")).get(
        "amd-cpuid-override"
    )

    assert override.confidence == "inferred"
    assert [msr.index for msr in override.msrs] == [0xC0011004, 0xC0011005]
    assert any("0x9C5A203A" in caveat for caveat in override.caveats)


def test_barcelona_override_covers_leaves_1_and_80000001_without_password(dump):
    override = assists_of(dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml")).get(
        "amd-cpuid-override"
    )

    assert override.leaves == (
        (0x1, 0, "ecx"),
        (0x1, 0, "edx"),
        (0x80000001, 0, "ecx"),
        (0x80000001, 0, "edx"),
    )
    assert not any("password" in caveat for caveat in override.caveats)
    assert override.hideable_mask & TABLE.by_name["sse4a"].mask


def test_opteron_248_before_rev_e_has_no_assist(dump):
    decoded = dump("aida64_Opteron248_K8_SledgeHammer_libcpuid.txt")
    assert decoded.identity.signature == 0x00000F5A

    report = assists_of(decoded)

    assert report.assists == ()
    assert "no CPUID masking" in report.explanation


@pytest.mark.parametrize(
    "name",
    [
        "libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt",
        "thismachine_kvm_EPYC-Milan_cpuid-r.txt",
        "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt",
        "proc_cpuinfo_XeonE5430_Harpertown_EC2-Xen-guest_cpu0.txt",
    ],
)
def test_a_dump_taken_inside_a_vm_says_nothing_about_the_host(dump, name):
    report = assists_of(dump(name))

    assert report.host_unknown
    assert report.assists == ()
    assert report.explanation == IN_VM_EXPLANATION
    assert report.explanation == "taken inside a VM: the host's assists cannot be seen"


def test_milan_guest_leaf_80000021_is_not_taken_as_the_hosts(dump):
    decoded = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    assert decoded.cpuid[(0x80000021, 0)][0] == 0x204

    assert assists_of(decoded).get("amd-cpuid-user-dis") is None


# --- Intel generation rules ---


@pytest.mark.parametrize("stepping", [0, 2, 3])
def test_penryn_before_stepping_4_has_no_v1_masking(stepping):
    assert migration_assists(intel(0x17, stepping)).assists == ()


@pytest.mark.parametrize("stepping", [4, 6, 10])
def test_penryn_from_stepping_4_has_v1_masking(stepping):
    assert migration_assists(intel(0x17, stepping)).keys == ["intel-mask-v1"]


def test_penryn_without_a_stepping_has_v1_unknown():
    v1 = migration_assists(intel(0x17, None)).get("intel-mask-v1")

    assert v1.confidence == "unknown"
    assert not v1.available
    assert "stepping" in v1.caveats[0]


@pytest.mark.parametrize("stepping", [0, 1, 5])
def test_dunnington_has_v1_masking_at_any_stepping(stepping):
    assert migration_assists(intel(0x1D, stepping)).keys == ["intel-mask-v1"]


def test_early_nehalem_ep_stepping_2_has_no_v2_masking():
    assert migration_assists(intel(0x1A, 2)).assists == ()
    assert migration_assists(intel(0x1A, 3)).keys == ["intel-mask-v2"]


@pytest.mark.parametrize("model", [0x1E, 0x1F, 0x25, 0x2C, 0x2E, 0x2F])
def test_nehalem_and_westmere_models_have_v2_masking(model):
    assert migration_assists(intel(model, 0)).keys == ["intel-mask-v2"]


@pytest.mark.parametrize("model", [0x2A, 0x2D])
def test_sandy_bridge_has_v3_masking_including_the_xsave_subleaf(model):
    v3 = migration_assists(intel(model, 7)).get("intel-mask-v3")

    assert (0xD, 1, "eax") in v3.leaves
    assert [msr.index for msr in v3.msrs] == [0x132, 0x133, 0x134]
    assert v3.hideable_mask & TABLE.by_name["xsaveopt"].mask
    assert migration_assists(intel(model, 7)).keys == ["intel-mask-v3"]


def test_sandy_bridge_ep_is_flagged_as_added_empirically():
    assert "empirically" in migration_assists(intel(0x2D, 7)).get("intel-mask-v3").caveats[0]
    assert migration_assists(intel(0x2A, 7)).get("intel-mask-v3").caveats == ()


@pytest.mark.parametrize("model", [0x0F, 0x16, 0x0E])
def test_merom_and_yonah_have_no_assist(model):
    assert migration_assists(intel(model, 6)).assists == ()


@pytest.mark.parametrize("model", [0, 2, 4, 6])
def test_netburst_never_has_masking_or_faulting(model):
    assert migration_assists(intel(model, 3, family=0xF)).assists == ()


@pytest.mark.parametrize("model", [0x3A, 0x3E, 0x3F, 0x4F, 0x55, 0x6A, 0x8F, 0xCF])
def test_ivy_bridge_and_later_big_cores_have_faulting_inferred(model):
    report = migration_assists(intel(model, 1))

    assert report.keys == ["intel-cpuid-faulting"]
    assert report.get("intel-cpuid-faulting").confidence == "inferred"


@pytest.mark.parametrize("model", [0x37, 0x4D, 0x5F, 0x86, 0x57, 0xAF])
def test_atom_and_xeon_phi_faulting_is_unknown(model):
    faulting = migration_assists(intel(model, 1)).get("intel-cpuid-faulting")

    assert faulting.confidence == "unknown"
    assert "Atom or Xeon Phi" in faulting.caveats[0]


def test_extended_intel_families_are_newer_than_ivy_bridge():
    report = migration_assists(intel(0x01, 0, family=0x13))

    assert report.keys == ["intel-cpuid-faulting"]
    assert report.get("intel-cpuid-faulting").confidence == "inferred"


def test_a_report_without_family_gets_no_assist_and_says_why():
    report = migration_assists(Identity(vendor=INTEL))

    assert report.assists == ()
    assert "no CPU family" in report.explanation


# --- AMD generation rules ---


@pytest.mark.parametrize("model", [0x03, 0x06])
def test_family_11h_has_no_override(model):
    assert migration_assists(amd(0x11, model)).assists == ()


@pytest.mark.parametrize(
    ("model", "expected"), [(0x05, []), (0x1F, []), (0x20, ["amd-cpuid-override"])]
)
def test_k8_override_starts_at_revision_e(model, expected):
    assert migration_assists(amd(0xF, model)).keys == expected


def test_k8_without_a_model_has_the_override_unknown():
    override = migration_assists(Identity(vendor=AMD, family=0xF)).get("amd-cpuid-override")

    assert override.confidence == "unknown"


@pytest.mark.parametrize("family", [0x10, 0x12, 0x14, 0x15, 0x16, 0x17])
def test_family_10h_and_later_have_the_override(family):
    assert migration_assists(amd(family, 1)).available_keys == ["amd-cpuid-override"]


def test_older_amd_families_have_no_override():
    assert migration_assists(amd(6, 8)).assists == ()


def test_family_15h_adds_the_leaf_6_and_leaf_7_msrs():
    override = migration_assists(amd(0x15, 2)).get("amd-cpuid-override")

    assert [msr.index for msr in override.msrs] == [0xC0011004, 0xC0011005, 0xC0011002, 0xC0011003]
    assert (0x6, 0, "ecx") in override.leaves


def test_family_15h_leaf_6_msr_is_left_out_when_the_dump_shows_leaf_6_ecx_zero():
    cpuid = {(6, 0): (0, 0, 0, 0), (0x80000000, 0): (0x8000001E, 0, 0, 0)}
    identity = amd(0x15, 2, max_basic_leaf=0xD, max_extended_leaf=0x8000001E)

    override = migration_assists(identity, cpuid).get("amd-cpuid-override")

    assert 0xC0011003 not in [msr.index for msr in override.msrs]


def test_name_based_family_19h_report_has_cpuid_user_dis_unknown_not_absent():
    report = migration_assists(amd(0x19, 0x11, 1))

    user_dis = report.get("amd-cpuid-user-dis")
    assert user_dis.confidence == "unknown"
    assert "0x80000021" in user_dis.caveats[0]
    assert report.available_keys == ["amd-cpuid-override"]


def test_name_based_family_17h_report_has_no_cpuid_user_dis():
    assert migration_assists(amd(0x17, 1, 2)).get("amd-cpuid-user-dis") is None


def test_raw_family_19h_dump_with_bit_17_clear_has_no_cpuid_user_dis():
    cpuid = {(0x80000021, 0): (0x204, 0, 0, 0)}
    identity = amd(0x19, 0x01, 1, max_extended_leaf=0x80000023)

    assert migration_assists(identity, cpuid).get("amd-cpuid-user-dis") is None


def test_raw_family_19h_dump_missing_the_leaf_it_implements_has_cpuid_user_dis_unknown():
    cpuid = {(0x80000000, 0): (0x80000023, 0, 0, 0)}
    identity = amd(0x19, 0x01, 1, max_extended_leaf=0x80000023)

    user_dis = migration_assists(identity, cpuid).get("amd-cpuid-user-dis")

    assert user_dis.confidence == "unknown"


def test_raw_dump_of_a_cpu_without_leaf_80000021_has_no_cpuid_user_dis(dump):
    decoded = dump("libcpuidraw_EPYC7551P_Naples.txt")
    assert decoded.identity.max_extended_leaf < 0x80000021

    assert assists_of(decoded).get("amd-cpuid-user-dis") is None


def test_other_vendors_get_no_assist():
    report = migration_assists(Identity(vendor="CentaurHauls", family=6, model=0xF))

    assert report.assists == ()
    assert "CentaurHauls" in report.explanation


# --- shape of every answer ---


def test_every_assist_is_complete_and_serialisable(dump):
    names = [path.name for path in DUMPS.glob("aida64_*")]
    identities = [intel(0x17, 2), intel(0x17, None), intel(0x2D, 7), intel(0x4D, 8)]
    identities += [amd(0xF, None), amd(0x15, 2), amd(0x19, 0x11, 1)]
    reports = [assists_of(dump(name)) for name in names]
    reports += [migration_assists(identity) for identity in identities]

    assists = [assist for report in reports for assist in report.assists]
    assert {assist.key for assist in assists} == set(MECHANISMS)
    for assist in assists:
        assert assist.confidence in CONFIDENCES
        assert assist.source and assist.msrs
        assert assist.explanation and "\n" not in assist.explanation
        assert assist.all_leaves or assist.leaves
    for report in reports:
        json.dumps(report.to_dict())


def test_the_core_module_imports_no_django_and_reads_no_shared_tree():
    source = (Path(__file__).parents[2] / "cpus" / "cpuid" / "assists.py").read_text()
    imported = [
        node.module or "" if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]

    assert not any(name.startswith("django") for name in imported)
    assert "/work/shared" not in source
