"""Every real sample decodes to the right identity, and detect() picks its format."""

import re
from pathlib import Path

import pytest

from cpus.cpuid import DumpParseError, decode, detect
from cpus.cpuid.formats import to_text
from tests.samples import DUMPS, SEED_DUMPS, TEST_DUMPS, Samples

# file -> (format, vendor, family, model, stepping, brand) as printed by the CPU itself
SAMPLES = {
    "aida64_A4-5000_Jaguar_Kabini_untaggedD_libcpuid_cpu0.txt": (
        "aida64",
        "AuthenticAMD",
        22,
        0,
        1,
        "AMD A4-5000 APU with Radeon(TM) HD Graphics",
    ),
    "aida64_ZhaoxinKX-6640MA_LuJiaZui_libcpuid_cpu0.txt": (
        "aida64",
        "CentaurHauls",
        7,
        0x3B,
        0,
        "ZHAOXIN KaiXian KX-6640MA@2.2+GHz",
    ),
    "aida64_EPYC9124_Genoa_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        25,
        17,
        1,
        "AMD EPYC 9124 16-Core Processor",
    ),
    "aida64_Opteron2210HE_K8revF_SantaRosa_4S_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        15,
        65,
        2,
        "Dual-Core AMD Opteron(tm) Processor 2210 HE",
    ),
    "aida64_Opteron2344HE_Barcelona_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        16,
        2,
        10,
        "Quad-Core AMD Opteron(tm) Processor 2344 HE",
    ),
    "aida64_Opteron2347HE_Barcelona_2S_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        16,
        2,
        1,
        "Quad-Core AMD Opteron(tm) Processor 2347 HE",
    ),
    "aida64_Opteron2378_Shanghai_2S_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        16,
        4,
        2,
        "Quad-Core AMD Opteron(tm) Processor 2378",
    ),
    "aida64_Opteron2431_Istanbul_2S_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        16,
        8,
        0,
        "Six-Core AMD Opteron(tm) Processor 2431",
    ),
    "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt": (
        "aida64",
        "AuthenticAMD",
        15,
        5,
        10,
        "AMD Opteron(tm) Processor 248",
    ),
    "aida64_XeonE5462_Harpertown_2S_libcpuid.txt": (
        "aida64",
        "GenuineIntel",
        6,
        23,
        6,
        "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz",
    ),
    "aida64_XeonGold_CascadeLakeSP_libcpuid.txt": (
        "aida64",
        "GenuineIntel",
        6,
        85,
        7,
        "Intel(R) Xeon(R) Gold 5215 CPU @ 2.50GHz",
    ),
    "aida64_XeonGold_SkylakeSP_libcpuid.txt": (
        "aida64",
        "GenuineIntel",
        6,
        85,
        4,
        "Intel(R) Xeon(R) Gold 6154 CPU @ 3.00GHz",
    ),
    "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt": (
        "aida64",
        "GenuineIntel",
        6,
        143,
        8,
        "Intel(R) Xeon(R) w9-3475X",
    ),
    "aida64_XeonX5667_WestmereEP_libcpuid.txt": (
        "aida64",
        "GenuineIntel",
        6,
        44,
        1,
        "Intel(R) Xeon(R) CPU X5667 @ 3.07GHz",
    ),
    "libcpuidraw_EPYC7551P_Naples.txt": (
        "libcpuid",
        "AuthenticAMD",
        23,
        1,
        2,
        "AMD EPYC 7551P 32-Core Processor",
    ),
    "libcpuidraw_XeonE5420_Harpertown.txt": (
        "libcpuid",
        "GenuineIntel",
        6,
        23,
        6,
        "Intel(R) Xeon(R) CPU E5420 @ 2.50GHz",
    ),
    "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt": (
        "libcpuid",
        "GenuineIntel",
        6,
        26,
        5,
        "Intel(R) Xeon(R) CPU E5520 @ 2.27GHz",
    ),
    "libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt": (
        "libcpuid",
        "GenuineIntel",
        6,
        85,
        4,
        "Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz",
    ),
    "libvirt_cputestdata_x86_64-cpuid-EPYC-7601-32-Core.xml": (
        "libvirt-cpudata",
        "AuthenticAMD",
        23,
        1,
        2,
        "AMD EPYC 7601 32-Core Processor",
    ),
    "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml": (
        "libvirt-cpudata",
        "AuthenticAMD",
        16,
        2,
        3,
        "Quad-Core AMD Opteron(tm) Processor 2350",
    ),
    "libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml": (
        "libvirt-cpudata",
        "GenuineIntel",
        6,
        26,
        5,
        "Intel(R) Xeon(R) CPU W3520 @ 2.67GHz",
    ),
    "libvirt_cputestdata_x86_64-cpuid-Opteron-2350-host.xml": (
        "libvirt-cpu",
        "AuthenticAMD",
        16,
        2,
        3,
        "",
    ),
    "libvirt_cputestdata_x86_64-cpuid-Opteron-2350-json.xml": (
        "libvirt-cpu",
        "AuthenticAMD",
        None,
        None,
        None,
        "",
    ),
    "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.json": (
        "qmp",
        "AuthenticAMD",
        16,
        2,
        3,
        "Quad-Core AMD Opteron(tm) Processor 2350",
    ),
    "proc_cpuinfo_Opteron2376_Shanghai_cpu0_2009.txt": (
        "proc-cpuinfo",
        "AuthenticAMD",
        16,
        4,
        2,
        "Quad-Core AMD Opteron(tm) Processor 2376",
    ),
    "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt": (
        "proc-cpuinfo",
        "GenuineIntel",
        6,
        23,
        10,
        "Intel(R) Xeon(R) CPU E5405 @ 2.00GHz",
    ),
    "proc_cpuinfo_XeonE5430_Harpertown_EC2-Xen-guest_cpu0.txt": (
        "proc-cpuinfo",
        "GenuineIntel",
        6,
        23,
        10,
        "Intel(R) Xeon(R) CPU E5430 @ 2.66GHz",
    ),
    "thismachine_kvm_EPYC-Milan_cpuid-1-r.txt": ("cpuid-r", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_kvm_EPYC-Milan_cpuid-r.txt": ("cpuid-r", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_kvm_EPYC-Milan_lscpu-J.json": ("lscpu-json", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_kvm_EPYC-Milan_lscpu.txt": ("lscpu", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_kvm_EPYC-Milan_proc_cpuinfo.txt": (
        "proc-cpuinfo",
        "AuthenticAMD",
        25,
        1,
        1,
        "AMD EPYC",
    ),
    "thismachine_kvm_EPYC-Milan_x86info-a.txt": ("x86info", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_kvm_EPYC-Milan_x86info-r.txt": ("x86info", "AuthenticAMD", 25, 1, 1, "AMD EPYC"),
    "thismachine_libvirt9.0_virsh_capabilities.xml": (
        "libvirt-capabilities",
        "AuthenticAMD",
        25,
        1,
        1,
        "",
    ),
    "thismachine_libvirt9.0_virsh_domcapabilities_kvm.xml": (
        "libvirt-domcapabilities",
        "AuthenticAMD",
        None,
        None,
        None,
        "",
    ),
    "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl": (
        "qmp",
        "AuthenticAMD",
        25,
        1,
        1,
        "AMD EPYC",
    ),
}
# Real files that are not host reports and must be refused.
NOT_REPORTS = {
    "thismachine_kvm_EPYC-Milan_cpuid-1_decoded.txt": "not a recognised CPUID dump",
    "thismachine_qemu7.2_qmp_query-cpu-definitions.jsonl": "no query-cpu-model-expansion reply",
}


def test_every_sample_file_is_covered():
    files = {p.name for p in DUMPS.iterdir() if p.name != "README.md"}
    assert files == set(SAMPLES) | set(NOT_REPORTS)


def test_each_sample_is_kept_in_one_folder_only():
    both = {name: paths for name, paths in DUMPS.paths().items() if len(paths) > 1}
    assert not both, f"kept in both cpus/seed/dumps and tests/dumps: {sorted(both)}"
    # The seed catalog's samples are the runtime's; the test-only ones stay in tests/dumps.
    assert DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt" == (
        SEED_DUMPS / "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"
    )
    assert DUMPS / "thismachine_kvm_EPYC-Milan_lscpu.txt" == (
        TEST_DUMPS / "thismachine_kvm_EPYC-Milan_lscpu.txt"
    )


def test_tests_and_benchmarks_find_samples_only_through_the_resolver():
    """A path built into tests/dumps/ by hand misses the seed samples kept in cpus/seed/dumps/
    (every new test file of one merge did): tests/samples.py is the one place that knows."""
    root = Path(__file__).resolve().parents[2]
    by_hand = re.compile(r'(parents\[1\]|parent\.parent|"tests") / "dumps"')
    offenders = sorted(
        str(path.relative_to(root))
        for folder in ("tests", "bench")
        for path in (root / folder).rglob("*.py")
        if path.name != "samples.py"
        and path.name != "test_repository_layout.py"  # its examples of what a scan must catch
        and by_hand.search(path.read_text(encoding="utf-8"))
    )
    assert offenders == [], "use `from tests.samples import DUMPS`"


def test_the_resolver_sees_a_name_held_twice_and_refuses_an_unknown_one(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for folder in (first, second):
        (folder / "same.txt").write_text("x")
        (folder / "README.md").write_text("about")
    (second / "only.txt").write_text("y")
    samples = Samples((first, second))

    assert samples.paths() == {
        "only.txt": [second / "only.txt"],
        "same.txt": [first / "same.txt", second / "same.txt"],
    }
    assert [path.name for path in samples.iterdir()] == ["only.txt", "same.txt"]
    assert samples / "only.txt" == second / "only.txt"
    with pytest.raises(FileNotFoundError, match="no sample dump"):
        samples / "missing.txt"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_sample_decodes_to_its_identity(name, dump):
    expected_format, vendor, family, model, stepping, brand = SAMPLES[name]
    decoded = dump(name)
    identity = decoded.identity
    assert (
        decoded.format,
        identity.vendor,
        identity.family,
        identity.model,
        identity.stepping,
        identity.brand,
    ) == (expected_format, vendor, family, model, stepping, brand)
    assert decoded.features, "a real CPU has features"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_detect_picks_the_format_of_every_sample(name):
    assert detect(to_text((DUMPS / name).read_bytes())) == SAMPLES[name][0]


@pytest.mark.parametrize(("name", "reason"), sorted(NOT_REPORTS.items()))
def test_files_that_are_not_reports_are_refused(name, reason):
    with pytest.raises(DumpParseError, match=reason):
        decode((DUMPS / name).read_bytes())


@pytest.mark.parametrize(
    "prose",
    [
        "Hello, this is my server. It has two Xeon CPUs and runs KVM.\nPlease advise.",
        "processor is fast\nflags are many\n",
        "CPUID is an instruction of x86 processors.",
    ],
)
def test_detect_refuses_plain_prose(prose):
    with pytest.raises(DumpParseError, match="not a recognised") as error:
        detect(prose)
    assert error.value.line == 1


@pytest.mark.parametrize(
    ("name", "phys", "virt"),
    [
        ("aida64_XeonE5462_Harpertown_2S_libcpuid.txt", 38, 48),
        ("aida64_Opteron248_K8_SledgeHammer_libcpuid.txt", 40, 48),
        ("aida64_Opteron2378_Shanghai_2S_libcpuid.txt", 48, 48),
        ("aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt", 46, 57),
        ("aida64_EPYC9124_Genoa_libcpuid.txt", 52, 57),
        ("libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml", 36, 48),
        ("libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt", 40, 48),
        ("libcpuidraw_XeonSilver4114_SkylakeSP_inVM.txt", 43, 48),
    ],
)
def test_address_sizes_come_from_leaf_0x80000008(name, phys, virt, dump):
    identity = dump(name).identity
    assert (identity.phys_bits, identity.virt_bits) == (phys, virt)


def test_same_signature_can_differ_in_physical_address_bits(dump):
    w3520 = dump("libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml").identity
    e5520 = dump("libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt").identity
    assert w3520.signature == e5520.signature == 0x000106A5
    assert (w3520.phys_bits, e5520.phys_bits) == (36, 40)


def test_leaf_maxima_are_reported(dump):
    identity = dump("aida64_Opteron248_K8_SledgeHammer_libcpuid.txt").identity
    assert identity.max_basic_leaf == 1
    assert identity.max_extended_leaf == 0x80000018
