"""One definition of each feature class (cpus/cpuid/feature_classes.py), read by the engine, the
matrix, the exports and the ledger's error explainer alike."""

import re
from pathlib import Path

from cpus.cpuid import baseline, compat, export, feature_classes, matrix
from cpus.cpuid.policies import base, hyperv, kvm, vmware
from cpus.cpuid.table import TABLE
from migrations_log import explain

ROOT = Path(__file__).resolve().parents[2]
QEMU_WARNING = "qemu-system-x86_64: warning: host doesn't support requested feature: "
CLASSES = ("NESTED", "XSAVE_STATE", "KVM_EMULATED", "VOLATILE", "NOT_VIRTUALISED")


def names(mask: int) -> list[str]:
    return sorted(feature.name for feature in TABLE.from_mask(mask))


def test_the_classes_name_these_bits():
    svm_leaf = [f.name for f in TABLE if f.leaf == 0x8000000A]
    assert names(feature_classes.NESTED) == sorted(["vmx", "svm", *svm_leaf])
    assert names(feature_classes.VMX_SVM) == ["svm", "vmx"]
    assert names(feature_classes.XSAVE_STATE) == sorted(
        "xsave xsaveopt xsavec xgetbv1 xsaves xfd fpu sse avx mpx avx512f pku amx_tile".split()
    )
    assert names(feature_classes.KVM_EMULATED) == ["arat", "tsc_deadline_timer", "x2apic"]
    assert names(feature_classes.VOLATILE) == ["hle", "mpx", "rtm"]
    assert names(feature_classes.TSX) == ["hle", "rtm"]
    # The union, pinned: a change to any class shows here.
    union = 0
    for name in CLASSES:
        union |= getattr(feature_classes, name)
    assert feature_classes.NOT_VIRTUALISED.bit_count() == 69
    assert union.bit_count() == 101
    # The only overlaps: SVM sub-features KVM never offers, and MPX (XSAVE state, and volatile).
    overlaps = {
        (one, other): names(getattr(feature_classes, one) & getattr(feature_classes, other))
        for one in CLASSES
        for other in CLASSES
        if one < other
    }
    assert {pair: found for pair, found in overlaps.items() if found} == {
        ("NESTED", "NOT_VIRTUALISED"): [
            "avic",
            "svm_lock",
            "svme_addr_chk",
            "v_spec_ctrl",
            "x2avic",
        ],
        ("VOLATILE", "XSAVE_STATE"): ["mpx"],
    }


def test_the_xsave_class_is_the_xsave_family_and_the_component_enablers():
    enablers = {feature for _, _, feature in feature_classes.XSAVE_COMPONENTS}
    assert enablers == {"fpu", "sse", "avx", "mpx", "avx512f", "pku", "amx_tile"}
    assert feature_classes.XSAVE_ENABLERS & feature_classes.XSAVE_INSTRUCTIONS == 0
    # Instruction subsets over a component add no state (the decision in the module docstring).
    for name in ("avx512bw", "avx512vl", "amx_int8", "avx2", "arch_lbr"):
        assert not feature_classes.XSAVE_STATE & TABLE.by_name[name].mask


def test_the_engine_reads_the_classes():
    assert baseline.NESTED is feature_classes.NESTED
    assert baseline.VOLATILE is feature_classes.VOLATILE
    assert baseline.NOT_VIRTUALISED is feature_classes.NOT_VIRTUALISED
    assert compat.XSAVE_COMPONENTS is feature_classes.XSAVE_COMPONENTS
    assert kvm.POLICY.emulated == feature_classes.KVM_EMULATED
    assert hyperv.NESTED is feature_classes.NESTED
    assert base.VOLATILE is feature_classes.VOLATILE
    assert vmware.NOT_VIRTUALISED is feature_classes.NOT_VIRTUALISED
    assert export.VOLATILE is feature_classes.VOLATILE
    # The matrix judges with the same policies: its emulated bits are the class.
    assert matrix.policies.get("kvm").emulated == feature_classes.KVM_EMULATED


def test_every_xsave_reason_of_the_engine_names_a_feature_of_the_class():
    guest = TABLE.mask_of(TABLE) & ~feature_classes.HOST_ONLY
    reasons = compat.xsave_components(guest, guest)
    assert reasons
    for reason in reasons:
        assert reason.axis == "xsave"
        for name in reason.features:
            assert feature_classes.XSAVE_STATE & TABLE.by_name[name].mask


def test_the_explainer_uses_the_same_classes():
    assert frozenset(TABLE.from_mask(feature_classes.NESTED)) == explain.NESTED
    assert frozenset(TABLE.from_mask(feature_classes.XSAVE_STATE)) == explain.XSAVE
    assert frozenset(TABLE.from_mask(feature_classes.INVTSC)) == explain.TSC
    assert explain.explain(QEMU_WARNING + "CPUID.8000000AH:EDX.npt [bit 0]").axis == "nested virt"
    assert explain.explain(QEMU_WARNING + "CPUID.07H:EBX.avx512f [bit 16]").axis == "xsave"
    # Once "xsave" for the explainer only; the engine never called it an XSAVE matter.
    assert explain.explain(QEMU_WARNING + "CPUID.07H:EBX.avx512bw [bit 30]").axis == "features"


def test_no_other_module_defines_a_class():
    pattern = re.compile(
        r"^(NESTED|XSAVE\w*|VOLATILE|TSX|KVM_EMULATED|KVM_CPU_CAPS|NOT_VIRTUALISED|VMX_SVM\w*"
        r"|MITIGATIONS|INVTSC|HOST_ONLY|NON_MIGRATABLE|GUEST_VISIBLE)\s*=(.*)$",
        re.MULTILINE,
    )
    for folder in ("cpus", "migrations_log", "kbsite"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "feature_classes.py" or "migrations" in path.parts[-2:-1]:
                continue
            for name, value in pattern.findall(path.read_text()):
                if path.parts[-2:] == ("formats", "aida64.py") and name == "XSAVE_COMPONENTS":
                    continue  # AIDA64's leaf 0xD labels: a decoding table, not a class
                assert "feature_classes." in value, f"{path}: {name} ={value}"
