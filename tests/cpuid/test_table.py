"""The feature table against libvirt's and QEMU's own definitions of the bits."""

import json
import re
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest

from cpus.cpuid import TABLE, cpu_map
from cpus.cpuid.table import normalise
from tests.samples import DUMPS

CPU_MAP = Path(cpu_map.BUNDLED)
REGISTERS = ("eax", "ebx", "ecx", "edx")


def libvirt_features():
    """(name, key) for every feature of x86_features.xml, read independently of the table."""
    root = SafeET.parse(CPU_MAP / "x86_features.xml").getroot()
    for feature in root.iter("feature"):
        name = feature.get("name")
        cpuid = feature.find("cpuid")
        if cpuid is not None:
            leaf = int(cpuid.get("eax_in"), 16)
            subleaf = int(cpuid.get("ecx_in", "0"), 16)
            ((register, mask),) = [(r, int(cpuid.get(r), 16)) for r in REGISTERS if cpuid.get(r)]
            yield name, ("cpuid", leaf, subleaf, register, mask.bit_length() - 1)
        else:
            msr = feature.find("msr")
            value = int(msr.get("edx"), 16) << 32 | int(msr.get("eax"), 16)
            yield name, ("msr", int(msr.get("index"), 16), value.bit_length() - 1)


LIBVIRT_FEATURES = list(libvirt_features())


def test_bundled_libvirt_map_has_all_212_features():
    assert len(LIBVIRT_FEATURES) == 212


@pytest.mark.parametrize(("name", "key"), LIBVIRT_FEATURES, ids=[n for n, _ in LIBVIRT_FEATURES])
def test_every_libvirt_feature_maps_to_the_same_bit(name, key):
    feature = TABLE.lookup(name, "libvirt")
    assert feature is not None, f"libvirt feature {name} missing from the table"
    assert feature.key == key
    assert feature.libvirt == name


def test_libvirt_aliases_resolve_to_the_same_bit():
    root = SafeET.parse(CPU_MAP / "x86_features.xml").getroot()
    for feature in root.iter("feature"):
        for alias in feature.iter("alias"):
            vocabulary = alias.get("source")
            assert TABLE.lookup(alias.get("name"), vocabulary) is TABLE.lookup(
                feature.get("name"), "libvirt"
            )


def test_libvirt_non_migratable_features_are_marked():
    assert {f.libvirt for f in TABLE if not f.migratable} == {"invtsc", "xsaves"}


def qemu_72_feature_names():
    """Every boolean property of QEMU 7.2's full expansion of 'host' that is a CPUID/MSR bit."""
    knobs = re.compile(r"^(vmx-|hv-|kvm|x-)")
    not_bits = {
        "check",
        "enforce",
        "fill-mtrr-mask",
        "full-cpuid-auto-level",
        "full-width-write",
        "host-cache-info",
        "host-phys-bits",
        "l3-cache",
        "legacy-cache",
        "lmce",
        "migratable",
        "pmu",
        "realized",
        "start-powered-off",
        "tcg-cpuid",
        "vmware-cpuid-freq",
        "cpuid-0xb",
    }
    path = DUMPS / "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl"
    for line in path.read_text().splitlines():
        reply = json.loads(line).get("return")
        if isinstance(reply, dict) and reply.get("model", {}).get("name") == "host":
            props = reply["model"]["props"]
            return sorted(
                k
                for k, v in props.items()
                if isinstance(v, bool) and not knobs.match(k) and k not in not_bits
            )
    raise AssertionError("no full expansion in the sample")


QEMU_NAMES = qemu_72_feature_names()


def test_qemu_72_vocabulary_was_read_with_its_aliases_and_msr_bits():
    for name in (
        "sse4.1",
        "sse4-1",
        "sse4_1",
        "pni",
        "sse3",
        "rdctl-no",
        "sgx1",
        "intel-pt-lip",
        "split-lock-detect",
    ):
        assert name in QEMU_NAMES
    assert "vmx-ept" not in QEMU_NAMES and "enforce" not in QEMU_NAMES


@pytest.mark.parametrize("name", QEMU_NAMES)
def test_every_qemu_72_feature_name_is_in_the_table(name):
    feature = TABLE.lookup(name, "qemu")
    assert feature is not None, f"QEMU 7.2 feature {name} missing"
    # QEMU spells a feature the way the table does, or it is one of QEMU's documented aliases.
    assert normalise(feature.qemu) == normalise(name) or name in {
        "sse3",
        "pclmuldq",
        "i64",
        "xd",
        "ffxsr",
    }


def test_qemu_and_libvirt_agree_where_both_name_a_bit():
    for name, key in LIBVIRT_FEATURES:
        qemu = TABLE.lookup(name, "qemu")
        if qemu is not None:
            assert qemu.key == key, name


def test_every_qemu_72_model_feature_resolves():
    models = json.loads((CPU_MAP.parent / "qemu-7.2-cpu-models.json").read_text())[
        "static_expansion"
    ]
    missing = {
        name
        for model in models.values()
        for name in model["features"]
        if TABLE.lookup(name, "qemu") is None
    }
    assert missing == set()


def test_every_libvirt_model_feature_resolves():
    missing = {
        name
        for model in cpu_map.load().values()
        for name in model.features
        if TABLE.lookup(name, "libvirt") is None
    }
    assert missing == set()


def test_names_differ_per_vocabulary_for_the_same_bit():
    sse41 = TABLE.lookup("sse4_1", "linux")
    assert (sse41.linux, sse41.qemu, sse41.libvirt) == ("sse4_1", "sse4.1", "sse4.1")
    assert TABLE.lookup("pclmuldq", "libvirt") is TABLE.lookup("pclmulqdq", "linux")
    assert TABLE.lookup("tsc-deadline", "qemu").name == "tsc_deadline_timer"
    assert TABLE.lookup("cr8legacy", "libvirt").name == "cr8_legacy"
    assert TABLE.lookup("altmovcr8", "linux").name == "cr8_legacy"


def test_a_name_means_different_bits_in_different_vocabularies():
    # Linux 'ibpb' is a synthetic mitigation flag; QEMU's is CPUID 0x80000008 EBX[12].
    assert TABLE.lookup("ibpb", "linux") is None
    assert TABLE.lookup("ibpb", "qemu").key == ("cpuid", 0x80000008, 0, "ebx", 12)
    assert TABLE.lookup("stibp", "qemu").key == ("cpuid", 7, 0, "edx", 27)


def test_canonical_names_are_linux_names_where_linux_has_one():
    for feature in TABLE:
        if feature.linux:
            assert feature.name == feature.linux
        else:
            assert feature.name == (feature.qemu or feature.libvirt).replace("-", "_").replace(
                ".", "_"
            )


def test_table_spans_the_leaves_and_msrs_the_issue_names():
    words = {(f.leaf, f.subleaf, f.register) for f in TABLE if f.msr is None}
    for word in [
        (0x1, 0, "ecx"),
        (0x1, 0, "edx"),
        (0x6, 0, "eax"),
        (0x7, 0, "ebx"),
        (0x7, 0, "ecx"),
        (0x7, 0, "edx"),
        (0x7, 1, "eax"),
        (0xD, 1, "eax"),
        (0xF, 1, "edx"),
        (0x12, 0, "eax"),
        (0x12, 1, "eax"),
        (0x14, 0, "ecx"),
        (0x80000001, 0, "ecx"),
        (0x80000001, 0, "edx"),
        (0x80000007, 0, "edx"),
        (0x80000008, 0, "ebx"),
        (0x8000000A, 0, "edx"),
        (0x80000021, 0, "eax"),
    ]:
        assert word in words, word
    assert {f.msr for f in TABLE if f.msr is not None} == {0x10A, 0xCF}


def test_amd_mirrors_of_leaf_1_edx_are_not_features():
    mirrored = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 23, 24}
    bits = {f.bit for f in TABLE if (f.leaf, f.register) == (0x80000001, "edx")}
    assert bits.isdisjoint(mirrored)
