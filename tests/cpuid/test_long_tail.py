"""Issue 16: the long tail of real dumps.  One test per class of input that used to decode
wrongly, each on a real dump from tests/dumps/ (see its README) or, where the project has none,
on a real dump changed in the one way the class needs (marked "derived" here and in the README).
"""

import re

import pytest

from cpus.cpuid import TABLE, decode
from cpus.cpuid.errors import DumpParseError
from cpus.cpuid.formats import MAX_BYTES, MAX_PARSED_BYTES
from cpus.cpuid.identity import family_model_stepping
from tests.samples import DUMPS

JAGUAR = "aida64_A4-5000_Jaguar_Kabini_untaggedD_libcpuid_cpu0.txt"
ZHAOXIN = "aida64_ZhaoxinKX-6640MA_LuJiaZui_libcpuid_cpu0.txt"
XSAVE1 = {"xsaveopt", "xsavec", "xgetbv1", "xsaves", "xfd"}


def read(name: str) -> str:
    return (DUMPS / name).read_text()


def unknown(decoded) -> set[str]:
    return {feature.name for feature in TABLE.from_mask(decoded.unknown_mask)}


def refused(data) -> DumpParseError:
    with pytest.raises(DumpParseError) as error:
        decode(data)
    return error.value


# --- Old AIDA64/EVEREST leaf 0xD rows without [SL xx] tags -------------------------------------


def test_untagged_avx_row_is_subleaf_2_and_xsaveopt_is_unknown_not_absent():
    # Real AMD A4-5000 (Jaguar): rows 0xD.0 and the AVX component (EAX=0x100, EBX=0x240) only.
    jaguar = decode(read(JAGUAR))
    assert sorted(key for key in jaguar.cpuid if key[0] == 0xD) == [(0xD, 0), (0xD, 2)]
    assert jaguar.cpuid[(0xD, 2)][:2] == (0x100, 0x240)
    assert unknown(jaguar) >= XSAVE1
    assert not XSAVE1 & set(jaguar.feature_names())
    assert {"avx", "xsave", "f16c"} <= set(jaguar.feature_names())


def test_untagged_subleaf_1_row_is_still_read_as_subleaf_1():
    # Derived: the real Zhaoxin dump with its [SL xx] tags removed (0xD.1 EAX = 1: xsaveopt).
    text = re.sub(r" \[SL [0-9A-F]{2}\]", "", read(ZHAOXIN))
    untagged, tagged = decode(text), decode(read(ZHAOXIN))
    assert "xsaveopt" in untagged.feature_names()
    assert untagged.cpuid[(0xD, 2)] == tagged.cpuid[(0xD, 2)]
    assert untagged.feature_mask == tagged.feature_mask


def test_an_unidentifiable_untagged_0xd_row_is_dropped_and_leaves_unknowns():
    # Derived: the Jaguar dump with its AVX row's offset changed so that no component matches.
    text = read(JAGUAR).replace(
        "CPUID 0000000D: 00000100-00000240", "CPUID 0000000D: 00000100-00000250"
    )
    decoded = decode(text)
    assert (0xD, 1) not in decoded.cpuid and (0xD, 2) not in decoded.cpuid
    assert unknown(decoded) >= XSAVE1
    assert any("could not be identified" in warning for warning in decoded.warnings)


def test_untagged_leaf_7_repeats_that_disagree_with_7_0_are_not_numbered():
    # Derived: the Jaguar dump (7.0 EAX = 0: no subleaf 1) with its leaf 7 row repeated.
    row = "CPUID 00000007: 00000000-00000008-00000000-00000000\n"
    decoded = decode(read(JAGUAR).replace(row, row + row.replace("00000008", "FFFFFFFF")))
    assert (7, 1) not in decoded.cpuid
    assert not {"avx_vnni", "avx512_bf16"} & set(decoded.feature_names())


# --- Zhaoxin/Centaur family 7 and the identity rule for every vendor ---------------------------


def test_zhaoxin_family_7_gets_its_extended_model():
    zhaoxin = decode(read(ZHAOXIN))
    assert zhaoxin.identity.vendor == "CentaurHauls"
    assert (zhaoxin.identity.family, zhaoxin.identity.model) == (7, 0x3B)
    assert zhaoxin.identity.brand == "ZHAOXIN KaiXian KX-6640MA@2.2+GHz"
    assert {"avx", "sha_ni", "rdseed"} <= set(zhaoxin.feature_names())


@pytest.mark.parametrize(
    ("signature", "expected", "source"),
    [
        (0x000307B0, (7, 0x3B, 0), "Zhaoxin KX-6640MA, tests/dumps"),
        (0x00010676, (6, 0x17, 6), "Intel Harpertown, tests/dumps"),
        (0x00040F12, (15, 0x41, 2), "AMD K8 rev F, tests/dumps"),
        (0x00A10F11, (0x19, 0x11, 1), "AMD Genoa, tests/dumps"),
        (0x00900F01, (0x18, 0, 1), "Hygon Dhyana, QEMU model 'Dhyana' family 24 model 0"),
        (0x00000543, (5, 4, 3), "Pentium MMX (family 5: no extended model)"),
    ],
)
def test_family_and_model_follow_linux_for_every_vendor(signature, expected, source):
    assert family_model_stepping(signature) == expected, source


def test_every_vendor_string_of_the_x86_world_is_accepted():
    # Derived: the real Zhaoxin dump with its leaf-0 vendor string replaced.
    for vendor in (
        "  Shanghai  ",
        "CentaurHauls",
        "VIA VIA VIA ",
        "GenuineTMx86",
        "CyrixInstead",
        "Geode by NSC",
        "Genuine  RDC",
        "HygonGenuine",
        "AMDisbetter!",
        "GenuineIotel",
    ):
        words = [vendor[i : i + 4].encode("latin-1") for i in (0, 4, 8)]
        ebx, edx, ecx = (int.from_bytes(word, "little") for word in words)
        row = f"CPUID 00000000: 0000000D-{ebx:08X}-{ecx:08X}-{edx:08X}"
        text = read(ZHAOXIN).replace("CPUID 00000000: 0000000D-746E6543-736C7561-48727561", row)
        assert decode(text).identity.vendor == vendor


# --- DEL in a brand string --------------------------------------------------------------------


def test_a_del_byte_in_a_brand_string_is_not_binary_junk():
    # Derived: the real E5405 /proc/cpuinfo with a DEL byte in its model name.
    text = read("proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt").replace("E5405  @", "E5405\x7f @")
    decoded = decode(text)
    assert "\x7f" in decoded.identity.brand
    # The same in an AIDA64 dump: the byte in the brand registers and in the annotation.
    aida = (
        read(ZHAOXIN)
        .replace("3436362D-40414D30", "3436367F-40414D30")
        .replace("[-6640MA@2.2+GHz]", "[\x7f6640MA@2.2+GHz]")
    )
    assert decode(aida).identity.brand == "ZHAOXIN KaiXian KX\x7f6640MA@2.2+GHz"


def test_binary_junk_is_still_refused_by_its_structure():
    text = read("proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt")
    assert "binary" in refused(text + "\x7f" * 200).reason
    assert "control character 0x1b" in refused(text + "\x1b[31m\n").reason


# --- Large real reports -----------------------------------------------------------------------


def _big_aida64(size: int) -> str:
    """Derived: the real 32-CPU EPYC 9124 dump's CPU blocks repeated, renumbered, to ``size``."""
    body = read("aida64_EPYC9124_Genoa_libcpuid.txt").split("-" * 80 + "\n")[0]
    blocks = re.split(r"(?m)^(?=------\[ CPUID Registers / Logical CPU #)", body)
    blocks = [block for block in blocks if block.strip()]
    out, number = [], 0
    while sum(map(len, out)) < size:
        block = blocks[number % len(blocks)]
        out.append(re.sub(r"Logical CPU #\d+", f"Logical CPU #{number}", block, count=1))
        number += 1
    return "".join(out)


def test_a_two_socket_epyc_sized_aida64_report_is_accepted():
    text = _big_aida64(2_600_000)
    assert MAX_PARSED_BYTES < len(text.encode()) < MAX_BYTES
    decoded = decode(text)
    small = decode(read("aida64_EPYC9124_Genoa_libcpuid.txt"))
    assert decoded.feature_mask == small.feature_mask
    assert decoded.identity == small.identity
    assert 32 < decoded.cpu_count < len(re.findall("Logical CPU #", text))
    assert any("were read" in warning for warning in decoded.warnings)
    assert not any("inconsistent" in warning for warning in decoded.warnings)


def test_a_large_cpuid_r_dump_is_accepted_too():
    # Derived: the real 2-CPU `cpuid -r` of this machine, its blocks repeated and renumbered.
    text = read("thismachine_kvm_EPYC-Milan_cpuid-r.txt")
    blocks = [b for b in re.split(r"(?m)^(?=CPU \d+:)", text) if b.strip()]
    big = "".join(re.sub(r"^CPU \d+:", f"CPU {n}:", blocks[n % 2], count=1) for n in range(600))
    assert len(big.encode()) > MAX_PARSED_BYTES
    decoded = decode(big)
    assert decoded.feature_mask == decode(text).feature_mask
    assert 2 < decoded.cpu_count < 600


def test_hostile_sizes_are_still_refused():
    assert "limit" in refused(_big_aida64(MAX_BYTES + 1)).reason
    cpuinfo = read("proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt")
    assert "limit" in refused(cpuinfo * (MAX_PARSED_BYTES // len(cpuinfo) + 1)).reason


# --- Older InstLatx64 layouts -----------------------------------------------------------------

_ROW = re.compile(r"^(CPUID [0-9A-F]{8}): ([0-9A-F]{8})-([0-9A-F]{8})-([0-9A-F]{8})-([0-9A-F]{8})")


@pytest.mark.parametrize(
    "layout",
    [
        r"\1 : \2-\3-\4-\5",  # space before the colon
        r"\1: \2 \3 \4 \5",  # registers separated by spaces
        r"\1 : \2 \3 \4 \5",  # both
        "\\1\\t:\\t\\2  \\3  \\4  \\5",  # tabs and double spaces
    ],
)
def test_older_instlatx64_layouts_are_read(layout):
    # Derived: the real Zhaoxin and Jaguar dumps rewritten in each layout.
    for name in (ZHAOXIN, JAGUAR):
        original = read(name)
        text = "\n".join(_ROW.sub(layout, line) for line in original.splitlines())
        assert text != original
        assert decode(text) == decode(original)


# --- Implausible leaf 1 -----------------------------------------------------------------------

# Leaf 0/1 of a Pentium III (published in google/cpu_features' CPUID dump tests); the derived
# dumps put junk in 1:ECX the way VIA Samuel and IDT WinChip CPUs do.
P3 = (
    "CPUID 00000000: 00000003-756E6547-6C65746E-49656E69\n"
    "CPUID 00000001: 00000673-00000000-{ecx}-0387F9FF\n"
    "CPUID 00000002: 03020101-00000000-00000000-0C040843\n"
    "CPUID 00000003: 00000000-00000000-8EF18AEE-0000D043\n"
)


def test_junk_in_leaf_1_is_flagged_and_not_trusted():
    decoded = decode(P3.format(ecx="FFFF3FBF"))
    assert not decoded.identity.in_vm
    assert not {"pni", "avx", "hypervisor", "aes"} & set(decoded.feature_names())
    assert {"pni", "ssse3", "avx", "aes"} <= unknown(decoded)
    assert any("implausible CPUID leaf 1" in warning for warning in decoded.warnings)
    clean = decode(P3.format(ecx="00000000"))
    assert not any("implausible" in warning for warning in clean.warnings)
    assert {"sse", "mmx"} <= set(clean.feature_names())


def test_an_old_cpu_model_in_a_vm_keeps_its_hypervisor_bit():
    # Derived: a QEMU -cpu pentium3 guest sets only ECX[31] and answers leaf 0x40000000.
    text = P3.format(ecx="80000000") + "CPUID 40000000: 40000001-4B4D564B-564B4D56-0000004D\n"
    decoded = decode(text)
    assert decoded.identity.in_vm and decoded.identity.hypervisor_vendor == "KVM"
    assert not any("implausible" in warning for warning in decoded.warnings)
