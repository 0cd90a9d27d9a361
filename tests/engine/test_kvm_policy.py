"""The KVM/QEMU/libvirt policy rule by rule, each on real dumps (cpus/cpuid/policies/kvm.py)."""

from dataclasses import replace

from cpus.cpuid import compat, feature_classes, guest_models
from cpus.cpuid.policies import kvm
from cpus.cpuid.policies.base import tsc_scaling
from cpus.cpuid.table import TABLE

HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
BARCELONA = "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"
WESTMERE = "aida64_XeonX5667_WestmereEP_libcpuid.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SAPPHIRE = "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt"
NAPLES = "libcpuidraw_EPYC7551P_Naples.txt"
EPYC_7601 = "libvirt_cputestdata_x86_64-cpuid-EPYC-7601-32-Core.xml"


def without(host, *names):
    mask = TABLE.mask_of(TABLE.by_name[n] for n in names)
    return replace(host, feature_mask=host.feature_mask & ~mask)


def of(verdict, axis):
    return [r for r in verdict.reasons if r.axis == axis]


# --- QEMU's KVM defaults ------------------------------------------------------------------------


def test_proxmox_default_type_runs_on_intel_because_it_is_qemu64_under_kvm(hosts):
    """Proxmox's UI default x86-64-v2-AES is `-cpu qemu64,+aes,...`: QEMU's KVM defaults apply."""
    westmere, skylake = hosts[WESTMERE], hosts[SKYLAKE]
    proxmox = guest_models.find("x86-64-v2-AES")
    assert proxmox.source == "proxmox" and proxmox.feature_mask & TABLE.by_name["svm"].mask
    verdict = compat.check(westmere, skylake, "x86-64-v2-AES", "kvm")
    assert verdict.verdict == "safe-with-model", verdict.reasons
    assert not verdict.guest_mask & TABLE.by_name["svm"].mask
    assert not of(verdict, "nested virt")


def test_qemu64_runs_on_intel_because_kvm_turns_svm_off(hosts):
    nehalem = hosts[NEHALEM]
    assert not nehalem.feature_mask & TABLE.by_name["svm"].mask
    assert guest_models.find("qemu64").feature_mask & TABLE.by_name["svm"].mask
    verdict = compat.check(nehalem, hosts[WESTMERE], "qemu64", "kvm")
    assert verdict.verdict == "safe-with-model"
    assert verdict.missing == [] and not of(verdict, "nested virt")


def test_libvirt_models_keep_libvirts_own_feature_list(hosts):
    """libvirt checks its cpu_map model against the host: its qemu64 requires svm."""
    nehalem = hosts[NEHALEM]
    verdict = compat.check(nehalem, nehalem, "libvirt:qemu64", "kvm")
    assert verdict.verdict == "blocked"
    assert "svm" in of(verdict, "features")[0].features
    assert not of(verdict, "nested virt")  # required of the host, not exposed to the guest


def test_amd_models_expose_nested_virtualisation_only_when_asked(hosts):
    barcelona, shanghai = hosts[BARCELONA], hosts[SHANGHAI]
    plain = compat.check(barcelona, shanghai, "Opteron_G3", "kvm")
    assert not of(plain, "nested virt")
    asked = compat.check(barcelona, shanghai, "Opteron_G3,+svm", "kvm")
    assert [r.severity for r in of(asked, "nested virt")] == ["warning"]


def test_kvm_defaults_follow_qemu_7_2(hosts):
    assert kvm.KVM_DEFAULTS == {"x2apic": True, "acpi": False, "monitor": False, "svm": False}
    model = compat.parse_guest_cpu("Opteron_G2")
    mask = kvm.kvm_model_mask(model)
    assert mask & TABLE.by_name["vme"].mask and mask & TABLE.by_name["x2apic"].mask
    assert not mask & TABLE.by_name["svm"].mask
    # qemu64's definition has no vme: none is added
    assert not kvm.kvm_model_mask(compat.parse_guest_cpu("qemu64")) & TABLE.by_name["vme"].mask


# --- Guest vendor -------------------------------------------------------------------------------


def test_unpinned_named_model_changes_vendor_across_the_2008_pool(demo):
    harpertown, barcelona, _ = demo
    verdict = compat.check(harpertown, barcelona, "Opteron_G2,phys-bits=38", "kvm")
    [vendor] = of(verdict, "vendor")
    assert vendor.severity == "warning" and verdict.verdict == "risky"
    assert "boots as Intel and sees AMD" in vendor.message
    assert "SYSENTER" in vendor.message and "vendor=" in vendor.message


def test_pinned_vendor_keeps_the_guest_vendor_and_kvm_emulates(demo):
    harpertown, barcelona, shanghai = demo
    for destination in (barcelona, shanghai):
        verdict = compat.check(
            harpertown, destination, "Opteron_G2,vendor=GenuineIntel,phys-bits=38", "kvm"
        )
        [vendor] = of(verdict, "vendor")
        assert vendor.severity == "info" and "pinned to GenuineIntel" in vendor.message
        assert verdict.verdict == "safe-with-model"


def test_passthrough_across_vendors_stays_blocked(demo):
    harpertown, barcelona, _ = demo
    verdict = compat.check(harpertown, barcelona, "host-passthrough", "kvm")
    assert [r.severity for r in of(verdict, "vendor")] == ["blocker"]


# --- Features KVM never gives a guest ------------------------------------------------------------


def test_not_virtualised_comes_from_kvm_set_cpu_caps():
    for name in ("tsx_force_abort", "rtm_always_abort", "dca", "cqm", "rdt_a", "sgx", "arch_lbr"):
        assert name not in feature_classes.KVM_CPU_CAPS
        assert feature_classes.NOT_VIRTUALISED & TABLE.by_name[name].mask
    for name in ("avx512f", "md_clear", "invtsc", "rtm", "mpx", "arat"):
        assert not feature_classes.NOT_VIRTUALISED & TABLE.by_name[name].mask


def test_a_source_with_features_kvm_never_exposes_blocks_nothing(hosts):
    sapphire = without(hosts[SAPPHIRE], "vmx")
    assert sapphire.feature_mask & TABLE.by_name["arch_lbr"].mask
    assert sapphire.feature_mask & TABLE.by_name["pconfig"].mask
    stripped = without(sapphire, "arch_lbr", "pconfig", "cqm", "dca", "rdt_a")
    verdict = compat.check(sapphire, stripped, "host-passthrough", "kvm")
    assert verdict.verdict == "safe" and verdict.missing == []


# --- Passthrough identity -----------------------------------------------------------------------


def test_two_similar_xeons_with_cpu_host_are_risky_for_their_identity(hosts):
    skylake, cascade = without(hosts[SKYLAKE], "vmx"), without(hosts[CASCADE], "vmx")
    verdict = compat.check(skylake, cascade, "host-passthrough", "kvm")
    assert verdict.verdict == "risky" and verdict.missing == []
    [identity] = of(verdict, "identity")
    assert identity.severity == "warning" and "6/85/4 -> 6/85/7" in identity.message
    assert "microcode" in identity.message
    assert compat.check(skylake, skylake, "host-passthrough", "kvm").verdict == "safe"


# --- Address bits -------------------------------------------------------------------------------


def test_passthrough_width_is_the_sources_and_a_narrower_destination_blocks(hosts):
    nehalem, harpertown = without(hosts[NEHALEM], "vmx"), hosts[HARPERTOWN]
    assert (nehalem.identity.phys_bits, harpertown.identity.phys_bits) == (40, 38)
    verdict = compat.check(nehalem, harpertown, "host-passthrough", "kvm")
    [bits] = of(verdict, "address bits")
    assert bits.severity == "blocker" and "host-phys-bits" in bits.message
    # phys-bits=38 instead of host-phys-bits: the width no longer comes from the host
    narrowed = compat.check(nehalem, harpertown, "host-passthrough,phys-bits=38", "kvm")
    assert not of(narrowed, "address bits")


def test_host_phys_bits_on_a_named_model_is_fixed_too(hosts):
    shanghai, harpertown = hosts[SHANGHAI], hosts[HARPERTOWN]
    verdict = compat.check(shanghai, harpertown, "Opteron_G2,host-phys-bits=on", "kvm")
    assert [r.severity for r in of(verdict, "address bits")] == ["blocker"]


# --- TSC ----------------------------------------------------------------------------------------


def test_tsc_scaling_sources(hosts):
    assert tsc_scaling(hosts[NAPLES]) == "cpuid"
    assert tsc_scaling(hosts[SKYLAKE]) == "inferred"
    assert tsc_scaling(hosts[NEHALEM]) is None
    assert tsc_scaling(hosts[SHANGHAI]) is None


def test_invtsc_with_tsc_frequency_needs_an_equal_or_scaling_destination(hosts):
    spec = "host-passthrough,+invtsc,tsc-frequency=2100000000"
    skylake, cascade = without(hosts[SKYLAKE], "vmx"), without(hosts[CASCADE], "vmx")
    inferred = compat.check(skylake, cascade, spec, "kvm")
    [tsc] = of(inferred, "tsc")
    assert tsc.severity == "info" and "inferred from the CPU generation" in tsc.message
    naples, epyc = hosts[NAPLES], hosts[EPYC_7601]
    scaled = compat.check(naples, without(epyc, "svm"), spec.replace("+invtsc", "+invtsc,-svm"))
    assert [r.severity for r in of(scaled, "tsc")] == ["info"]
    westmere, nehalem = without(hosts[WESTMERE], "vmx"), without(hosts[NEHALEM], "vmx")
    assert westmere.feature_mask & nehalem.feature_mask & TABLE.by_name["invtsc"].mask
    blocked = compat.check(westmere, nehalem, spec, "kvm")
    assert [r.severity for r in of(blocked, "tsc")] == ["blocker"]
    assert "TSC scaling unavailable" in of(blocked, "tsc")[0].message


# --- Volatile features --------------------------------------------------------------------------


def test_models_relying_on_tsx_or_mpx_are_risky(hosts):
    cascade = hosts[CASCADE]
    tsx = compat.check(cascade, cascade, "Cascadelake-Server", "kvm")
    [warning] = [r for r in tsx.reasons if r.severity == "warning"]
    assert tsx.verdict == "risky" and {"hle", "rtm"} <= set(warning.features)
    assert "tsx=off" in warning.message
    no_tsx = compat.check(cascade, cascade, "Cascadelake-Server-noTSX,-mpx", "kvm")
    # only the report's unknown ARCH_CAPABILITIES bits remain (no MSRs in this dump)
    assert {r.axis for r in no_tsx.reasons if r.severity != "info"} == {"report"}


# --- Suggestion ---------------------------------------------------------------------------------


def test_suggestion_says_what_it_fixes(demo):
    harpertown, _, shanghai = demo
    verdict = compat.check(harpertown, shanghai, "host-passthrough", "kvm")
    message = verdict.suggestion["message"]
    assert message.startswith(f"use guest CPU {verdict.suggestion['guest_cpu']!r}")
    assert f"removes the {verdict.missing_count} missing feature(s)" in message
    assert "the vendor blocker" in message
