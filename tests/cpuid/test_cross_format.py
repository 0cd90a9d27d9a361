"""The same CPU in two formats decodes to the same features, except documented differences."""

from cpus.cpuid import cpu_map


def names(decoded, vocabulary="canonical"):
    return set(decoded.feature_names(vocabulary))


def test_opteron_2350_in_libvirt_names_equals_libvirts_expanded_host_cpu(dump):
    raw = dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml")
    host = dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350-host.xml")
    expected = set(cpu_map.expand("Opteron_G3").features) | {
        "vme",
        "ht",
        "monitor",
        "mmxext",
        "fxsr_opt",
        "pdpe1gb",
        "3dnowext",
        "3dnow",
        "cmp_legacy",
        "extapic",
        "cr8legacy",
        "3dnowprefetch",
        "osvw",
        "ibs",
        "invtsc",
        "npt",
        "lbrv",
        "svm-lock",
    }
    assert "monitor" in cpu_map.expand("Opteron_G3").removed
    assert names(raw, "libvirt") == expected
    assert names(host, "libvirt") == expected


def test_opteron_2350_raw_xml_and_qmp_json_differ_only_where_kvm_does(dump):
    raw = names(dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"))
    qmp_dump = dump("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.json")
    qmp = names(qmp_dump)
    # KVM emulates x2apic and the TSC-deadline timer on any host.
    assert qmp - raw == {"x2apic", "tsc_deadline_timer"}
    # KVM (as of that capture) did not offer these to guests; hw_pstate has no QEMU name at all.
    assert raw - qmp == {
        "ht",
        "monitor",
        "rdtscp",
        "extapic",
        "ibs",
        "invtsc",
        "lbrv",
        "svm_lock",
        "hw_pstate",
    }
    assert {f.name for f in qmp_dump.unknown_features} & raw == {"hw_pstate"}


def test_this_machine_cpuid_r_equals_cpuid_1_r(dump):
    assert names(dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")) == names(
        dump("thismachine_kvm_EPYC-Milan_cpuid-1-r.txt")
    )


def test_this_machine_proc_cpuinfo_misses_only_bits_linux_hides(dump):
    raw = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    proc = dump("thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt")
    assert names(proc) <= names(raw)
    missing = [f for f in raw.features if f.name not in names(proc)]
    assert {f.name for f in missing} == {"amd_psfd", "lfence_rdtsc", "no_smm_ctl_msr", "shstk"}
    assert all(f.linux_hidden for f in missing)
    assert {f.name for f in missing} <= {f.name for f in proc.unknown_features}


def test_this_machine_x86info_misses_only_subleaf_1_of_leaf_0xd(dump):
    raw = dump("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    x86info = dump("thismachine_kvm_EPYC-Milan_x86info-r.txt")
    assert names(x86info) <= names(raw)
    assert names(raw) - names(x86info) == {"xsaveopt", "xsavec", "xgetbv1", "xsaves"}
    assert names(dump("thismachine_kvm_EPYC-Milan_x86info-a.txt")) == names(x86info)


def test_this_machine_lscpu_text_json_and_proc_cpuinfo_agree(dump):
    proc = names(dump("thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt"))
    assert names(dump("thismachine_kvm_EPYC-Milan_lscpu.txt")) == proc
    assert names(dump("thismachine_kvm_EPYC-Milan_lscpu-J.json")) == proc


def test_shanghai_proc_cpuinfo_is_a_subset_of_the_aida64_dump(dump):
    # 2376 and 2378 are the same silicon (00100F42) at different clocks.
    proc = names(dump("proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt"))
    aida = names(dump("aida64_Opteron2378_Shanghai_2S_libcpuid.txt"))
    assert proc <= aida
    assert aida - proc == {
        # A 2009 kernel had no names for these 0x80000001 ECX bits.
        "ibs",
        "skinit",
        "wdt",
        # Nor did it print the SVM feature leaf 0x8000000A (shown since Linux 4.x).
        "npt",
        "lbrv",
        "svm_lock",
        "nrip_save",
        # Linux does not use MONITOR/MWAIT on family 10h and clears the flag.
        "monitor",
    }
