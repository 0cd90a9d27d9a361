"""Issue 14 in the engine: which models exist in which QEMU/libvirt, KVM defaults per QEMU
release, and the VMX-capability axis for nested guests.

Hosts are real dumps; their stacks are QEMU/libvirt version strings and VMX capabilities taken
from QEMU's published model definitions (``releases.qemu_model_vmx``), never invented bits.
"""

from dataclasses import replace

import pytest

from cpus.cpuid import compat, releases, vmx
from cpus.cpuid.policies.kvm import KVM_DEFAULT_OFF, KVM_DEFAULT_ON, kvm_defaults
from cpus.cpuid.stack import HostStack, StackError
from cpus.cpuid.table import TABLE

MILAN = "thismachine_kvm_EPYC-Milan_cpuid-r.txt"
CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
SAPPHIRE = "aida64_XeonW9-3475X_SapphireRapids_libcpuid.txt"


def with_stack(host, **fields):
    return replace(host, stack=HostStack(**fields), label=f"{host.label} {fields}")


def stack_reasons(verdict):
    return [r for r in verdict.reasons if r.axis == "stack"]


def test_guest_model_newer_than_destination_qemu_is_blocked_naming_the_release(hosts):
    source = with_stack(hosts[MILAN], qemu_version="7.2.0")
    destination = with_stack(hosts[MILAN], qemu_version="QEMU emulator version 5.2.0")
    verdict = compat.check(source, destination, "EPYC-Milan")
    assert verdict.verdict == "blocked"
    (reason,) = stack_reasons(verdict)
    assert reason.severity == "blocker"
    assert "QEMU 6.0.0" in reason.message and "5.2.0" in reason.message
    # the same pair with a QEMU that has it: no stack reason, and not blocked by it
    newer = with_stack(hosts[MILAN], qemu_version="6.0.0")
    assert stack_reasons(compat.check(source, newer, "EPYC-Milan")) == []


def test_versioned_names_and_aliases_have_their_own_first_release(hosts):
    assert releases.qemu_availability("Cascadelake-Server").first == (3, 1, 0)
    assert releases.qemu_availability("Cascadelake-Server-v3").first == (4, 2, 0)
    assert releases.qemu_availability("Cascadelake-Server-noTSX").first == (4, 2, 0)
    # every model has NAME-v1 from QEMU 4.1 (QEMU 7.2's own model list has EPYC-Milan-v1)
    assert releases.qemu_availability("EPYC-Milan-v1").first == (6, 0, 0)
    assert releases.qemu_availability("Penryn-v1").first == (4, 1, 0)
    source = with_stack(hosts[CASCADE], qemu_version="4.2.0")
    destination = with_stack(hosts[CASCADE], qemu_version="4.1.1")
    blocked = compat.check(source, destination, "Cascadelake-Server-noTSX")
    assert [r.severity for r in stack_reasons(blocked)] == ["blocker"]
    assert "QEMU 4.2.0" in stack_reasons(blocked)[0].message


def test_libvirt_model_release_ranges_are_not_made_exact(hosts):
    source = with_stack(hosts[MILAN], libvirt_version="9.0.0")
    old = with_stack(hosts[MILAN], libvirt_version="5.6.0")
    between = with_stack(hosts[MILAN], libvirt_version="7.0.0")
    blocked = stack_reasons(compat.check(source, old, "libvirt:EPYC-Milan"))
    assert [r.severity for r in blocked] == ["blocker"]
    assert "5.7.0 to 8.1.0" in blocked[0].message
    unsure = stack_reasons(compat.check(source, between, "libvirt:EPYC-Milan"))
    assert [r.severity for r in unsure] == ["info"]


def test_unknown_stack_never_turns_a_verdict_risky(hosts):
    milan = hosts[MILAN]
    plain = compat.check(milan, milan, "EPYC-Milan")
    assert stack_reasons(plain) == []
    known_source = with_stack(milan, qemu_version="8.0.0")
    reasons = stack_reasons(compat.check(known_source, milan, "EPYC-Milan"))
    assert [r.severity for r in reasons] == ["info"]
    assert "not in its report" in reasons[0].message


def test_suggestion_never_names_a_model_the_destination_lacks(hosts):
    source = with_stack(hosts[SAPPHIRE], qemu_version="9.0.0")
    recent = with_stack(hosts[CASCADE], qemu_version="9.0.0")
    suggestion = compat.check(source, recent, "host-passthrough").suggestion
    assert suggestion["guest_cpu"].startswith("Cascadelake-Server-v3,")
    # QEMU 4.1 has no Cascadelake-Server-v3 (4.2.0): another model is fitted among its own
    older = with_stack(hosts[CASCADE], qemu_version="4.1.0")
    suggestion = compat.check(source, older, "host-passthrough").suggestion
    name = suggestion["guest_cpu"].split(",")[0]
    assert name != "Cascadelake-Server-v3"
    assert releases.qemu_availability(name).on((4, 1, 0)) is True
    assert compat.check(source, older, suggestion["guest_cpu"]).verdict != "blocked"
    # QEMU 3.0: the fitted models' names (NAME-vN) do not exist yet: no suggestion, not a bad one
    oldest = with_stack(hosts[CASCADE], qemu_version="3.0.0")
    suggestion = compat.check(source, oldest, "host-passthrough").suggestion
    if suggestion is not None:
        name = suggestion["guest_cpu"].split(",")[0]
        assert releases.qemu_availability(name).on((3, 0, 0)) is True


def test_kvm_defaults_follow_the_hosts_qemu_release():
    on, off = kvm_defaults((2, 0, 0))
    assert on & TABLE.by_name["x2apic"].mask and not off & TABLE.by_name["monitor"].mask
    on, off = kvm_defaults((2, 1, 0))
    assert off & TABLE.by_name["monitor"].mask and not off & TABLE.by_name["svm"].mask
    assert kvm_defaults((7, 2, 0)) == (KVM_DEFAULT_ON, KVM_DEFAULT_OFF)
    assert kvm_defaults(None) == (KVM_DEFAULT_ON, KVM_DEFAULT_OFF)


def _encode(names: frozenset[str]) -> dict[int, int]:
    """MSR values offering exactly ``names`` (allowed-1 bits, no must-be-one bits): the inverse
    of vmx.decode, to check the decoder bit by bit against QEMU's names."""
    msrs: dict[int, int] = {}
    for index, _legacy, control, bits in vmx._WORDS:
        value = 0
        for bit, name in bits.items():
            if name in names:
                value |= 1 << (bit + (32 if control else 0))
        msrs[index] = value
    return msrs


def test_vmx_msrs_decode_to_qemus_names():
    published = releases.qemu_model_vmx("SapphireRapids")
    assert vmx.decode(_encode(published)) == published
    assert vmx.decode({0x10A: 1}) is None
    # a control that must be one is not a choice (QEMU kvm_arch_get_supported_msr_feature)
    must = {0x48D: (1 << 7 << 32) | (1 << 7)}
    assert "vmx-posted-intr" not in vmx.decode(must)
    assert "vmx-posted-intr" in vmx.decode({0x48D: 1 << 7 << 32})


def test_nested_guest_between_hosts_with_different_vmx_capabilities_is_blocked(hosts):
    richer = releases.qemu_model_vmx("SapphireRapids")
    poorer = releases.qemu_model_vmx("Cascadelake-Server")
    assert poorer < richer
    source = with_stack(hosts[CASCADE], vmx_features=richer)
    destination = with_stack(hosts[CASCADE], vmx_features=poorer)
    verdict = compat.check(source, destination, "host-passthrough,+vmx")
    nested = [r for r in verdict.reasons if r.axis == "nested virt" and r.severity == "blocker"]
    assert verdict.verdict == "blocked" and len(nested) == 1
    assert set(nested[0].features) == richer - poorer
    assert "vmx-eptp-switching" in nested[0].message
    # equal capabilities: only the usual nested-state warning
    same = compat.check(source, source, "host-passthrough,+vmx")
    assert not [r for r in same.reasons if r.axis == "nested virt" and r.severity == "blocker"]
    # a named model gives only its own vmx-* list: Cascadelake-Server's fits the poorer host
    named = compat.check(source, destination, "Cascadelake-Server,+vmx")
    assert not [r for r in named.reasons if r.axis == "nested virt" and r.severity == "blocker"]
    # either side unknown: a warning on that axis
    unknown = compat.check(hosts[CASCADE], destination, "host-passthrough,+vmx")
    assert any(
        r.axis == "nested virt" and r.severity == "warning" and "VMX capabilities" in r.message
        for r in unknown.reasons
    )


@pytest.mark.parametrize(
    "data",
    [
        {"qemu_version": "latest"},
        {"microcode": "zz"},
        {"qemu_machine_types": "pc"},
        {"vulnerabilities": {"mds": 3}},
        {"vmx_features": ["ept"]},
        {"nonsense": "1"},
        "text",
    ],
)
def test_stack_fields_are_validated(data):
    with pytest.raises(StackError):
        HostStack.from_dict(data)


def test_stack_changes_name_each_layer():
    before = HostStack.from_dict(
        {"microcode": "0x5003006", "kernel_cmdline": "ro quiet", "qemu_version": "7.2.0"}
    )
    after = HostStack.from_dict(
        {"microcode": "0x5003302", "kernel_cmdline": "ro tsx=off", "qemu_version": "7.2.0"}
    )
    fields = {change["field"] for change in after.changes_from(before)}
    assert fields == {"microcode", "kernel_cmdline"}
