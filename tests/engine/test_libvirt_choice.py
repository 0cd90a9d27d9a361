"""libvirt_model follows libvirt's own choice (src/cpu/cpu_x86.c x86Decode and
x86DecodeUseCandidate) for same-vendor pools of real dumps."""

import xml.etree.ElementTree as ET

import pytest

from cpus.cpuid import baseline, cpu_map, guest_models

OPTERON_2350 = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
OPTERON_2350_HOST = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350-host.xml"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
SAPPHIRE = "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt"
GENOA = "aida64_EPYC9124_Genoa_libcpuid.txt"
NAPLES = "libcpuidraw_EPYC7551P_Naples.txt"
HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"


def test_disabled_features_cost_more_each_as_libvirt_counts_them():
    def mask(*names):
        return baseline.TABLE.mask_of(baseline.TABLE.by_name[n] for n in names)

    # 3 required (1 each) + 2 disabled (2, then 3): virCPUx86CompareCandidateFeatureList
    assert baseline._libvirt_score(mask("aes", "avx", "pni"), mask("hle", "rtm")) == (8, 5)
    assert baseline._libvirt_score(0, mask("hle", "rtm", "mpx")) == (9, 9)


def test_the_opteron_2350_decodes_as_libvirt_itself_decoded_it(hosts, dumps_dir):
    expected = ET.parse(dumps_dir / OPTERON_2350_HOST).getroot().findtext("model")
    assert expected == "Opteron_G3"
    assert baseline.compute([hosts[OPTERON_2350]]).libvirt_model.name == expected


@pytest.mark.parametrize(
    ("pool", "name"),
    [
        ((CASCADE,), "Cascadelake-Server"),
        ((SKYLAKE, CASCADE), "Skylake-Server"),
        ((SAPPHIRE,), "Icelake-Server"),
        ((GENOA,), "EPYC-Milan"),
        ((NAPLES, GENOA), "EPYC"),
        ((BARCELONA, SHANGHAI), "Opteron_G3"),
    ],
)
def test_same_vendor_pools_get_libvirts_name(hosts, pool, name):
    result = baseline.compute([hosts[n] for n in pool])
    assert result.libvirt_model.name == name
    # never a model libvirt forbids for guest CPUs, never another vendor's
    definition = cpu_map.load()[name]
    assert definition.decode_guest
    assert result.libvirt_model.model.vendor in (None, result.majority_vendor)


def test_guest_off_models_are_the_notsx_variants_and_never_chosen(real_hosts):
    off = {m.name for m in cpu_map.load().values() if not m.decode_guest}
    assert {"Cascadelake-Server-noTSX", "Skylake-Server-noTSX-IBRS"} <= off
    for host in real_hosts:
        assert baseline.compute([host]).libvirt_model.name not in off


def test_the_edits_still_make_exactly_the_baseline(hosts):
    for names in ((CASCADE,), (GENOA,), (NAPLES, GENOA)):
        result = baseline.compute([hosts[n] for n in names])
        fitted = result.libvirt_model
        model = guest_models.find(f"libvirt:{fitted.name}")
        assert (model.feature_mask | fitted.plus) & ~fitted.minus == fitted.feature_mask
        assert fitted.feature_mask == result.feature_mask & ~fitted.unexpressible


def test_a_cross_vendor_pool_keeps_the_majority_vendor_ranking(hosts):
    """libvirt refuses mixed vendors ("CPU vendors do not match"), so it has no answer to
    follow: the 2008 pool keeps Opteron_G2 (the majority vendor's closest model)."""
    result = baseline.compute([hosts[HARPERTOWN], hosts[BARCELONA], hosts[SHANGHAI]])
    assert result.libvirt_model.spec == "Opteron_G2,+vme,-rdtscp,-svm"
