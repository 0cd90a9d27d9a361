"""The pitfalls of docs/formats.md#what-the-decoder-does-with-a-raw-dump, each on a real sample."""

from cpus.cpuid import TABLE, decode
from tests.samples import DUMPS


def names(decoded):
    return set(decoded.feature_names())


def test_leaves_above_the_maximum_are_ignored(dump):
    # libcpuid saves 32 basic leaves; Harpertown (max leaf 0xA) echoes leaf 0xA above it.
    e5420 = dump("libcpuidraw_XeonE5420_Harpertown.txt")
    raw_rows = [
        line
        for line in (DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt").read_text().splitlines()
        if line.startswith("basic_cpuid[13]=")
    ]
    assert raw_rows == ["basic_cpuid[13]=07280202 00000000 00000000 00000503"]
    assert max(leaf for leaf, _ in e5420.cpuid if leaf < 0x80000000) == 0xA
    assert not {"xsaveopt", "xsavec", "xsaves"} & names(e5420)
    assert e5420.unknown_mask == 0


def test_intel_out_of_range_echo_rows_are_dropped(dump):
    w3520 = dump("libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml")
    text = (DUMPS / "libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml").read_text()
    assert "eax_in='0x80860000'" in text
    assert not any(leaf >= 0xC0000000 or 0x80860000 <= leaf < 0x80870000 for leaf, _ in w3520.cpuid)


def test_same_cpu_in_aida64_and_libcpuid_gives_the_same_features(dump):
    # Xeon E5462 and E5420 are both Harpertown C0 (00010676); the dumps came from different tools.
    e5462 = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    e5420 = dump("libcpuidraw_XeonE5420_Harpertown.txt")
    assert e5462.identity.signature == e5420.identity.signature == 0x00010676
    assert names(e5462) == names(e5420)


def test_amd_mirror_of_leaf_1_edx_is_not_a_feature_difference(dump):
    barcelona = dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml")
    harpertown = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    assert barcelona.cpuid[(0x80000001, 0)][3] & 0x3FF == 0x3FF  # fpu..apic mirrored by AMD
    assert harpertown.cpuid[(0x80000001, 0)][3] & 0x3FF == 0
    leaf_1_edx = {f.name for f in TABLE if (f.leaf, f.register) == (1, "edx")}
    only_barcelona = names(barcelona) - names(harpertown)
    assert not only_barcelona & leaf_1_edx
    assert {f.name for f in barcelona.features if (f.leaf, f.register) == (0x80000001, "edx")} == {
        "syscall",
        "nx",
        "mmxext",
        "fxsr_opt",
        "pdpe1gb",
        "rdtscp",
        "lm",
        "3dnowext",
        "3dnow",
    }


def test_os_dependent_bits_are_not_cpu_features(dump):
    milan = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    assert milan.cpuid[(1, 0)][2] >> 27 & 1  # OSXSAVE set in the register
    assert "osxsave" not in names(milan)
    assert "xsave" in names(milan)
    assert {f.name for f in TABLE if f.kind == "os"} == {"osxsave", "ospke"}


def test_apic_ids_do_not_make_cpus_differ(dump):
    e5462 = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    text = (DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt").read_text()
    assert "CPUID 00000001: 00010676-02040800" in text  # CPU 1: APIC ID 2
    assert e5462.cpu_count == 8
    assert not [w for w in e5462.warnings if "CPU" in w and "differs" in w]


def test_cpus_that_differ_in_features_are_reported():
    text = (DUMPS / "thismachine_kvm_EPYC-Milan_cpuid-r.txt").read_text()
    cpu1 = text.index("CPU 1:")
    row = "   0x00000007 0x00: eax=0x00000000 ebx=0x219c07ab"
    assert text.count(row) == 2
    # CPU 1 without AVX2 (EBX bit 5), as when microcode or BIOS differ between sockets.
    tampered = text[:cpu1] + text[cpu1:].replace(
        row, "   0x00000007 0x00: eax=0x00000000 ebx=0x219c078b"
    )
    decoded = decode(tampered)
    assert "avx2" in decoded.feature_names()
    assert any("CPU 1 differs from CPU 0" in w and "avx2" in w for w in decoded.warnings)


def test_intel_syscall_read_outside_64_bit_mode_is_restored(dump):
    e5462 = dump("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    assert e5462.cpuid[(0x80000001, 0)][3] == 0x20100000  # SYSCALL (bit 11) clear, LM set
    assert "syscall" in names(e5462)
    assert any("outside 64-bit mode" in w for w in e5462.warnings)
    w3520 = dump("libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml")  # captured in 64-bit mode
    assert w3520.cpuid[(0x80000001, 0)][3] >> 11 & 1
    assert not any("outside 64-bit mode" in w for w in w3520.warnings)


def test_amd_syscall_is_never_synthesised(dump):
    k8 = dump("aida64_Opteron248_K8_SledgeHammer_libcpuid.txt")
    assert "syscall" in names(k8)
    assert not any("outside 64-bit mode" in w for w in k8.warnings)


def test_dumps_taken_inside_a_vm_are_flagged(dump):
    silver = dump("libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt")
    assert silver.identity.in_vm and "hypervisor" not in names(silver)
    assert any("virtual machine" in w for w in silver.warnings)
    milan = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    assert (milan.identity.in_vm, milan.identity.hypervisor_vendor) == (True, "KVM")
    ec2 = dump("proc_cpuinfo_XeonE5430_Harpertown_EC2-Xen-guest_cpu0.txt")
    assert ec2.identity.in_vm
    bare = dump("aida64_Opteron2378_Shanghai_2S_libcpuid.txt")
    assert not bare.identity.in_vm and bare.identity.hypervisor_vendor is None


def test_missing_subleaf_rows_make_features_unknown_not_absent(dump):
    x86info = dump("thismachine_kvm_EPYC-Milan_x86info-r.txt")
    unknown = {f.name for f in x86info.unknown_features}
    assert {"xsaveopt", "xsavec", "xgetbv1", "xsaves"} <= unknown
    cpuid_r = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    assert {"xsaveopt", "xsavec", "xgetbv1", "xsaves"} <= names(cpuid_r)


def test_new_style_aida64_skips_all_zero_subleaves_without_making_them_unknown(dump):
    genoa = dump("aida64_EPYC9124_Genoa_libcpuid.txt")
    assert genoa.unknown_mask == 0
    assert {"avx512f", "avx512_bf16", "xsaves"} <= names(genoa)


def test_msr_features_are_unknown_when_the_msr_exists_but_is_not_in_the_dump(dump):
    cascade = dump("aida64_XeonGold_CascadeLakeSP_libcpuid.txt")
    assert "arch_capabilities" in names(cascade)
    assert {"mds_no", "taa_no", "rdctl_no"} <= {f.name for f in cascade.unknown_features}
    skylake = dump(
        "aida64_XeonGold_SkylakeSP_libcpuid.txt"
    )  # no IA32_ARCH_CAPABILITIES: known absent
    assert "arch_capabilities" not in names(skylake)
    assert not {f.name for f in skylake.unknown_features} & {"mds_no", "taa_no"}


def test_name_formats_keep_unknown_distinct_from_absent(dump):
    # A 2009 kernel does not name ibs, skinit or wdt; the CPU has them (AIDA64 of a 2378 shows it).
    proc = dump("proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt")
    aida = dump("aida64_Opteron2378_Shanghai_2S_libcpuid.txt")
    assert proc.absent_means_unknown and not aida.absent_means_unknown
    assert {"ibs", "skinit", "wdt"} <= names(aida)
    assert not {"ibs", "skinit", "wdt"} & names(proc)
    assert {"ibs", "skinit", "wdt"} <= {f.name for f in proc.unknown_features}
    assert any("unknown, not absent" in w for w in proc.warnings)


def test_old_kernel_names_and_power_management_bits_are_read(dump):
    proc = dump("proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt")
    assert "cr8_legacy" in names(proc)  # printed as 'altmovcr8' in 2009
    assert {"invtsc", "hw_pstate"} <= names(proc)  # "power management: ... hwpstate [8]"


def test_linux_vmx_flags_on_intel_are_not_cpuid_bits(dump):
    # 'vnmi' on an Intel /proc/cpuinfo is a VMX capability, not AMD's CPUID 0x8000000A EDX[25].
    e5405 = dump("proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt")
    assert "vnmi" in (DUMPS / "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt").read_text()
    assert "vnmi" not in names(e5405)
    assert {"vmx", "ssse3", "sse4_1", "xsave"} <= names(e5405)
    assert not any("vnmi" in w or "tpr_shadow" in w for w in e5405.warnings)
