"""The verdict rules axis by axis, per hypervisor, on real hosts (and edited copies of them)."""

from dataclasses import replace

import pytest

from cpus.cpuid import compat
from cpus.cpuid.baseline import QEMU_DEFAULT_PHYS_BITS
from cpus.cpuid.table import TABLE

WESTMERE = "aida64_XeonX5667_WestmereEP_libcpuid.txt"
NEHALEM = "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt"
HARPERTOWN = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
HARPERTOWN_E5420 = "libcpuidraw_XeonE5420_Harpertown.txt"
SHANGHAI = "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"
SHANGHAI_2009 = "proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt"
SKYLAKE = "aida64_XeonGold_SkylakeSP_libcpuid.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SKYLAKE_IN_VM = "libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt"


def axes(verdict, severity):
    return {r.axis for r in verdict.reasons if r.severity == severity}


def without(host, *names):
    mask = TABLE.mask_of(TABLE.by_name[n] for n in names)
    return replace(host, feature_mask=host.feature_mask & ~mask)


def test_identical_host_with_passthrough_is_safe(hosts):
    nehalem = hosts[NEHALEM]
    verdict = compat.check(nehalem, without(nehalem, "vmx"), "host-passthrough")
    # the source has vmx, so the guest does: nested warning, and vmx missing on the copy
    assert verdict.verdict == "blocked" and verdict.missing == ["vmx"]
    plain = without(nehalem, "vmx")
    # QEMU's -cpu host is migratable=on by default: invtsc is dropped, so identical CPUs are safe
    assert plain.feature_mask & TABLE.by_name["invtsc"].mask
    assert compat.check(plain, plain, "host-passthrough").verdict == "safe"


def test_newer_destination_is_safe_for_passthrough_only_when_it_offers_everything(hosts):
    westmere = without(hosts[WESTMERE], "vmx")
    cascade = without(hosts[CASCADE], "vmx")
    verdict = compat.check(westmere, cascade, "host-passthrough")
    # Cascade Lake offers every Westmere feature, and invtsc is not exposed (migratable=on), but
    # passthrough between different CPUs is unsafe (QEMU and libvirt docs): risky, not blocked.
    assert verdict.missing == []
    assert verdict.verdict == "risky" and axes(verdict, "warning") == {"identity"}
    assert not axes(verdict, "blocker")
    assert compat.check(cascade, westmere, "host-passthrough").verdict == "blocked"


def test_named_model_is_safe_with_model_and_names_the_model(hosts):
    westmere, cascade = hosts[WESTMERE], hosts[CASCADE]
    verdict = compat.check(westmere, cascade, "Westmere")
    assert verdict.verdict == "safe-with-model"
    assert verdict.guest_model == "Westmere"
    # Only the KVM note that CPUID is virtualised across generations (info: level unchanged)
    assert [(r.axis, r.severity) for r in verdict.reasons] == [("assists", "info")]


def test_named_model_the_source_cannot_run_is_blocked(hosts):
    verdict = compat.check(hosts[HARPERTOWN], hosts[CASCADE], "Nehalem")
    assert verdict.verdict == "blocked"
    assert any("source lacks" in r.message for r in verdict.reasons)
    assert verdict.missing == []  # missing counts only what the destination lacks


def test_kvm_emulates_x2apic_and_tsc_deadline_for_named_models(hosts):
    nehalem = hosts[NEHALEM]
    assert not nehalem.feature_mask & TABLE.by_name["x2apic"].mask
    # QEMU's SandyBridge has x2apic and tsc-deadline; KVM provides them on any host.
    bare = compat.check(nehalem, nehalem, "Nehalem,+x2apic,+tsc-deadline", "kvm")
    assert bare.verdict == "safe-with-model"
    vmware = compat.check(nehalem, nehalem, "Nehalem,+x2apic", "vmware")
    assert vmware.verdict == "blocked"


def test_cross_vendor_named_model_warns_on_kvm_and_blocks_elsewhere(hosts):
    harpertown, shanghai = hosts[HARPERTOWN], hosts[SHANGHAI]
    spec = "Opteron_G2,-svm,phys-bits=38"
    assert compat.check(harpertown, shanghai, spec, "kvm").verdict == "risky"
    assert axes(compat.check(harpertown, shanghai, spec, "kvm"), "warning") == {"vendor"}
    for hypervisor in ("vmware", "hyperv"):
        verdict = compat.check(harpertown, shanghai, spec, hypervisor)
        assert verdict.verdict == "blocked" and "vendor" in axes(verdict, "blocker")


def test_qemu_default_address_bits_above_a_narrower_destination_only_warn(hosts):
    harpertown, shanghai = hosts[HARPERTOWN], hosts[SHANGHAI]
    assert harpertown.identity.phys_bits == 38 < QEMU_DEFAULT_PHYS_BITS
    assert shanghai.identity.phys_bits == 48
    # QEMU's default 40 bits on a 38-bit destination: QEMU itself only warns
    verdict = compat.check(shanghai, harpertown, "Opteron_G2", "kvm")
    assert "address bits" in axes(verdict, "warning")
    assert "address bits" not in axes(verdict, "blocker")
    message = next(r.message for r in verdict.reasons if r.axis == "address bits")
    assert "phys-bits=38" in message and "MMIO" in message
    fixed = compat.check(shanghai, harpertown, "Opteron_G2,phys-bits=38", "kvm")
    assert not [r for r in fixed.reasons if r.axis == "address bits"]


def test_identical_hosts_never_conflict_on_address_bits(hosts):
    harpertown = hosts[HARPERTOWN]
    verdict = compat.check(harpertown, harpertown, "Penryn", "kvm")
    assert verdict.verdict == "safe-with-model"
    [info] = [r for r in verdict.reasons if r.axis == "address bits"]
    assert info.severity == "info"


def test_passthrough_uses_the_source_address_width(hosts):
    shanghai = without(hosts[SHANGHAI], "invtsc", "svm")
    narrow = replace(shanghai, identity=replace(shanghai.identity, phys_bits=40))
    assert "address bits" in axes(compat.check(shanghai, narrow), "blocker")
    assert compat.check(narrow, shanghai).verdict == "safe"


def test_invtsc_rules(hosts):
    nehalem = without(hosts[NEHALEM], "vmx")
    # asked for (+invtsc or migratable=off) without tsc-frequency: QEMU's migration blocker,
    # even between identical hosts
    for spec in ("host-passthrough,+invtsc", "host-passthrough,migratable=off"):
        same = compat.check(nehalem, nehalem, spec)
        assert same.verdict == "blocked" and axes(same, "blocker") == {"tsc"}
        assert "invtsc flag" in next(r.message for r in same.reasons if r.axis == "tsc")
    # with tsc-frequency, identical CPUs without TSC scaling (Nehalem has none): a warning
    pinned = compat.check(nehalem, nehalem, "host-passthrough,+invtsc,tsc-frequency=2266000000")
    assert pinned.verdict == "risky" and axes(pinned, "warning") == {"tsc"}
    # host-model never exposes invtsc (not migratable)
    assert compat.check(nehalem, nehalem, "host-model").verdict == "safe"
    named = compat.check(nehalem, without(nehalem, "invtsc"), "Nehalem,+invtsc")
    assert "tsc" in axes(named, "blocker") and named.missing == ["invtsc"]


def test_nested_virt_warns_within_a_vendor_and_blocks_across(hosts):
    nehalem, westmere, shanghai = hosts[NEHALEM], hosts[WESTMERE], hosts[SHANGHAI]
    within = compat.check(nehalem, westmere, "Nehalem,+vmx")
    assert within.verdict == "risky" and axes(within, "warning") == {"nested virt"}
    across = compat.check(nehalem, shanghai, "Opteron_G2,+svm,phys-bits=38")
    assert "nested virt" in axes(across, "blocker")
    # QEMU's KVM defaults turn svm off in Opteron_G2: no nested virtualisation unless asked
    assert "nested virt" not in axes(compat.check(nehalem, shanghai, "Opteron_G2"), "blocker")


def test_unknown_features_on_a_name_based_destination_are_a_warning_not_a_blocker(hosts):
    barcelona_raw, shanghai_names = hosts[SHANGHAI], hosts[SHANGHAI_2009]
    assert shanghai_names.absent_means_unknown
    # xsave is unknown on the 2009 /proc/cpuinfo report (never named), not absent
    guest = "Opteron_G3,-svm,+xsave,phys-bits=48"
    verdict = compat.check(barcelona_raw, shanghai_names, guest)
    assert verdict.verdict != "blocked" or "xsave" not in verdict.missing
    unknown = [r for r in verdict.reasons if r.axis == "report" and "unknown" in r.message]
    assert unknown and all(r.severity == "warning" for r in unknown)


def test_name_based_report_always_warns(hosts):
    shanghai = hosts[SHANGHAI_2009]
    verdict = compat.check(shanghai, shanghai, "host-passthrough")
    assert verdict.verdict in ("risky", "blocked")
    assert any(r.axis == "report" and "unknown, not absent" in r.message for r in verdict.reasons)


def test_report_taken_in_a_vm_warns(hosts):
    guest_view = hosts[SKYLAKE_IN_VM]
    verdict = compat.check(guest_view, hosts[CASCADE], "Skylake-Server-noTSX-IBRS")
    assert "report" in axes(verdict, "warning")


def test_vmware_evc_mode_within_intel(hosts):
    harpertown, nehalem = hosts[HARPERTOWN], hosts[NEHALEM]
    verdict = compat.check(harpertown, nehalem, "baseline", "vmware")
    assert verdict.guest_model == "intel-penryn"
    assert verdict.verdict == "safe-with-model"
    # No EVC: the VM sees Harpertown's features, all of which Nehalem has; vhv.enable is off
    passthrough = compat.check(harpertown, nehalem, "host-passthrough", "vmware")
    assert passthrough.verdict == "safe" and passthrough.suggestion is None
    backward = compat.check(nehalem, harpertown, "host-passthrough", "vmware")
    assert backward.suggestion["guest_cpu"] == "intel-penryn"
    assert "Penryn" in backward.suggestion["message"]  # vCenter's display name
    # VMware documents no address-width rule: 40 -> 38 bits is a warning, with no QEMU advice
    baseline = compat.check(nehalem, harpertown, "baseline", "vmware")
    [bits] = [r for r in baseline.reasons if r.axis == "address bits"]
    assert bits.severity == "warning" and "phys-bits" not in bits.message


def test_hyperv_requires_the_same_vendor_and_keeps_a_compatibility_hook(hosts):
    verdict = compat.check(hosts[HARPERTOWN], hosts[SHANGHAI], "baseline", "hyperv")
    assert verdict.verdict == "blocked" and "vendor" in axes(verdict, "blocker")
    same = compat.check(hosts[NEHALEM], hosts[WESTMERE], "baseline", "hyperv")
    assert any("compatibility mode" in r.message for r in same.reasons)


def test_directed_answers_are_separate(hosts):
    skylake, cascade = without(hosts[SKYLAKE], "invtsc"), without(hosts[CASCADE], "invtsc")
    forward = compat.check(skylake, cascade, "host-passthrough")
    backward = compat.check(cascade, skylake, "host-passthrough")
    assert forward.missing_count < backward.missing_count
    assert "avx512_vnni" in backward.missing


def test_xsave_state_missing_is_its_own_blocker(hosts):
    skylake, harpertown = hosts[SKYLAKE], hosts[HARPERTOWN]
    verdict = compat.check(skylake, harpertown, "Skylake-Server")
    xsave = [r for r in verdict.reasons if r.axis == "xsave"]
    assert {r.severity for r in xsave} == {"blocker"}
    assert {"avx", "avx512f", "xsave"} <= {f for r in xsave for f in r.features}
    messages = " ".join(r.message for r in xsave)
    assert "XCR0 bit 2" in messages and "ZMM_Hi256 (XCR0 bit 6)" in messages


def test_xsave_axis_is_about_state_components_not_instructions(hosts):
    skylake, cascade = hosts[SKYLAKE], hosts[CASCADE]
    # a new AVX-512 subset (VNNI) adds no state component: a features blocker only
    verdict = compat.check(cascade, skylake, "host-model")
    assert "avx512_vnni" in verdict.missing
    assert not [r for r in verdict.reasons if r.axis == "xsave"]
    # xsaveopt is an instruction, not a component
    lacking = without(skylake, "xsaveopt")
    verdict = compat.check(skylake, lacking, "host-model")
    assert verdict.missing == ["xsaveopt"]
    assert not [r for r in verdict.reasons if r.axis == "xsave"]


@pytest.mark.parametrize(
    ("spec", "mode", "model"),
    [
        ("host-passthrough", "host-passthrough", None),
        ("host-model", "host-model", None),
        ("baseline", "baseline", None),
        ("Opteron_G2,-rdtscp", "model", "Opteron_G2-v1"),
        ("Penryn-v1,+popcnt", "model", "Penryn-v1"),
        ("libvirt:Penryn", "model", "Penryn"),
        ("Skylake-Server-noTSX-IBRS,sse4.1=off", "model", "Skylake-Server-v3"),
        ("intel-penryn", "model", "intel-penryn"),
        ("x86-64-v3", "model", "x86-64-v3"),
    ],
)
def test_guest_cpu_strings_are_parsed(spec, mode, model):
    guest = compat.parse_guest_cpu(spec)
    assert guest.mode == mode
    assert (guest.model.name if guest.model else None) == model


def test_plus_and_minus_features_accept_every_vocabulary():
    guest = compat.parse_guest_cpu("Penryn,+sse4_2,-sse4.1,+lahf-lm,phys-bits=39")
    names = {f.name for f in TABLE.from_mask(guest.feature_mask)}
    assert "sse4_2" in names and "sse4_1" not in names and "lahf_lm" in names
    assert guest.phys_bits == 39


@pytest.mark.parametrize("spec", ["Pentium99", "Penryn,+nosuchflag", "Penryn,phys-bits=x"])
def test_bad_guest_cpu_strings_are_refused(spec):
    with pytest.raises(compat.GuestCpuError):
        compat.parse_guest_cpu(spec)


def test_unknown_hypervisor_is_refused(hosts):
    with pytest.raises(ValueError, match="hypervisor"):
        compat.check(hosts[NEHALEM], hosts[NEHALEM], "host-model", "xen")


def test_verdict_json_shape(hosts):
    record = compat.check(hosts[HARPERTOWN_E5420], hosts[SHANGHAI]).to_dict()
    assert {"verdict", "reasons", "missing", "suggestion", "guest_model"} <= set(record)
    assert set(record["reasons"][0]) == {"axis", "severity", "message", "features"}
