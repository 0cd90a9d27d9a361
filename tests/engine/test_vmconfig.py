"""A VM's real guest CPU from its hypervisor's configuration (cpus/cpuid/vmconfig.py).

The examples in tests/engine/vms/ follow each tool's documented format: libvirt's domain XML
(the live XML of a running host-model domain, a passthrough domain), a QEMU command line as
libvirt builds it, Proxmox `qm config` output, a KubeVirt VirtualMachine (YAML) and
VirtualMachineInstance (JSON)."""

from pathlib import Path

import pytest

from cpus.cpuid import guest_models, vmconfig
from cpus.cpuid.compat import parse_guest_cpu

VMS = Path(__file__).resolve().parent / "vms"


def read(name: str) -> str:
    return (VMS / name).read_text()


def test_running_host_model_domain_reads_the_expanded_model():
    vm = vmconfig.parse(read("running-host-model.xml"))
    assert vm.format == "libvirt" and vm.hypervisor == "kvm" and vm.name == "web01"
    guest = parse_guest_cpu(vm.guest_cpu)
    assert guest.model.source == "libvirt" and guest.model.name == "Skylake-Client-IBRS"
    parts = vm.guest_cpu.split(",")
    assert "-mpx" in parts and "+xsaves" in parts and "+md_clear" in parts
    # The hypervisor bit is KVM's own, not the host's: noted, not compared.
    assert "+hypervisor" not in parts
    assert any("hypervisor" in note for note in vm.notes)
    assert any("<vendor>" in note for note in vm.notes)


def test_passthrough_domain_with_emulated_address_width():
    vm = vmconfig.parse(read("passthrough.xml"))
    assert vm.guest_cpu == "host-passthrough,phys-bits=42"
    assert parse_guest_cpu(vm.guest_cpu).phys_bits == 42


def test_libvirt_optional_and_unknown_features_are_reported_with_their_lines():
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse(read("optional.xml"))
    issues = {issue.line: issue for issue in caught.value.issues}
    assert set(issues) == {5, 6}
    assert "optional" in issues[5].setting and "depends on the host" in issues[5].message
    assert "frobnicate" in issues[6].setting


@pytest.mark.parametrize(
    ("xml", "line", "word"),
    [
        (
            "<domain type='kvm'><cpu mode='custom' match='minimum'>\n<model>Penryn</model></cpu>"
            "</domain>",
            1,
            "minimum",
        ),
        (
            "<domain type='kvm'>\n<cpu mode='custom'>\n<model>NoSuchCPU</model></cpu></domain>",
            3,
            "NoSuchCPU",
        ),
        ("<domain type='xen'><cpu mode='host-passthrough'/></domain>", 1, "xen"),
    ],
)
def test_libvirt_settings_we_will_not_guess(xml, line, word):
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse(xml, "libvirt")
    assert any(i.line == line and word in i.setting for i in caught.value.issues)


def test_libvirt_without_cpu_is_qemu64_and_inactive_host_model_stays_host_model():
    assert vmconfig.parse("<domain type='kvm'><name>a</name></domain>").guest_cpu == "qemu64"
    vm = vmconfig.parse("<domain type='kvm'><cpu mode='host-model' check='partial'/></domain>")
    assert vm.guest_cpu == "host-model"
    assert any("live XML" in note for note in vm.notes)
    # Older libvirt writes an empty <model fallback='allow'/> into an inactive host-model.
    older = "<domain type='kvm'><cpu mode='host-model'><model fallback='allow'/></cpu></domain>"
    assert vmconfig.parse(older).guest_cpu == "host-model"
    vm = vmconfig.parse(
        "<domain type='kvm'><cpu mode='host-passthrough' migratable='off'>"
        "<maxphysaddr mode='passthrough'/></cpu></domain>"
    )
    assert vm.guest_cpu == "host-passthrough,migratable=off,host-phys-bits=on"


def test_libvirt_refuses_entities_and_bad_xml():
    bomb = '<!DOCTYPE d [<!ENTITY a "aaaa">]><domain type="kvm">&a;</domain>'
    with pytest.raises(vmconfig.VmConfigError, match="refused"):
        vmconfig.parse(bomb, "libvirt")
    with pytest.raises(vmconfig.VmConfigError, match="line 2"):
        vmconfig.parse("<domain>\n<cpu></domain>", "libvirt")


def test_qemu_command_line_space_and_nul_separated():
    text = read("cmdline.txt")
    vm = vmconfig.parse(text)
    assert vm.format == "qemu" and vm.name == "web02"
    parts = vm.guest_cpu.split(",")
    assert parts[0] == "Cascadelake-Server"
    assert "-hle" in parts and "-rtm" in parts and "+pku" in parts and "+amd_ssbd" in parts
    assert not any("kvm" in part for part in parts)
    nul = "\0".join(text.split()) + "\0"
    assert vmconfig.parse(nul).guest_cpu == vm.guest_cpu


def test_qemu_errors_name_the_argument():
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse("qemu-system-x86_64 -enable-kvm -cpu Haswell,frob=on,bogus=7", "qemu")
    settings = {issue.setting for issue in caught.value.issues}
    assert settings == {"frob", "bogus=7"}
    assert all(issue.line == 4 for issue in caught.value.issues)
    with pytest.raises(vmconfig.VmConfigError, match="more than once"):
        vmconfig.parse("qemu-system-x86_64 -cpu host -cpu Penryn", "qemu")
    with pytest.raises(vmconfig.VmConfigError, match="max"):
        vmconfig.parse("qemu-system-x86_64 -accel kvm -cpu max", "qemu")
    assert vmconfig.parse("qemu-system-x86_64 -accel kvm -cpu host,migratable=off").guest_cpu == (
        "host-passthrough,migratable=off"
    )


def test_proxmox_qm_config():
    vm = vmconfig.parse(read("qm-config.txt"))
    assert vm.format == "proxmox" and vm.name == "app03"
    # The snapshot section's "cpu: host" is not the current configuration.
    assert vm.guest_cpu == "proxmox:x86-64-v2-AES,host-phys-bits=on,-aes,+pcid,+spec_ctrl"
    guest = parse_guest_cpu(vm.guest_cpu)
    assert guest.model.source == "proxmox"
    assert vmconfig.parse("cores: 2\nmemory: 2048\n").guest_cpu == "proxmox:kvm64"
    assert vmconfig.parse("cpu: Opteron_G3\n").guest_cpu == "Opteron_G3,-rdtscp"
    assert vmconfig.parse("cpu: host,hidden=1\n").guest_cpu == "host-passthrough"


def test_proxmox_custom_model_and_second_cpu_are_issues_with_lines():
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse(read("qm-custom.txt"))
    lines = sorted(issue.line for issue in caught.value.issues)
    assert lines == [2, 4]
    with pytest.raises(vmconfig.VmConfigError, match="starts with"):
        vmconfig.parse("cpu: kvm64,flags=pcid\n", "proxmox")


def test_kubevirt_virtual_machine_yaml():
    vm = vmconfig.parse(read("vm.yaml"))
    assert vm.format == "kubevirt" and vm.name == "fedora-vm"
    assert vm.guest_cpu == "libvirt:Haswell-noTSX,-invtsc,+pcid"


def test_kubevirt_vmi_json_issues_with_lines():
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse(read("vmi.json"))
    by_line = {issue.line: issue for issue in caught.value.issues}
    assert set(by_line) == {10, 11}
    assert "optional" in by_line[10].setting and "sometimes" in by_line[11].setting


def test_kubevirt_default_model_and_wrong_kind():
    text = (
        '{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "spec": {"domain": {}}}'
    )
    vm = vmconfig.parse(text)
    assert vm.guest_cpu == "host-model" and "cpuModel" in vm.notes[0]
    with pytest.raises(vmconfig.VmConfigError, match="kind"):
        vmconfig.parse('{"apiVersion": "kubevirt.io/v1", "kind": "Pod"}', "kubevirt")


def test_vmware_evc_mode_key_or_vcenter_name():
    assert vmconfig.parse("intel-skylake", "vmware").guest_cpu == "intel-skylake"
    vm = vmconfig.parse("minRequiredEVCModeKey: intel-broadwell")
    assert (vm.format, vm.hypervisor, vm.guest_cpu) == ("vmware", "vmware", "intel-broadwell")
    key, name = next(iter(guest_models.evc_vcenter_names().items()))
    assert vmconfig.parse(f"evcModeKey: {name}", "vmware").guest_cpu == key
    with pytest.raises(vmconfig.VmConfigError) as caught:
        vmconfig.parse('featMask.vm.cpuid.AES = "Val:1"\n', "vmware")
    assert caught.value.issues[0].line == 1


def test_unknown_format_and_empty_input():
    with pytest.raises(vmconfig.VmConfigError, match="format"):
        vmconfig.parse("hello world")
    with pytest.raises(vmconfig.VmConfigError, match="empty"):
        vmconfig.parse("  ")
    with pytest.raises(vmconfig.VmConfigError, match="unknown VM format"):
        vmconfig.parse("x", "hyperv")
