"""Every orchestrator export parses back the way its tool reads it (cpus/cpuid/orchestrators.py):
KubeVirt YAML (PyYAML, as kubectl's YAML), Nova ini (configparser, as oslo.config's ini
parser), Proxmox config (our qm config reader), libvirt XML (our domain reader), vSphere keys."""

import configparser

import pytest
import yaml

from cpus.cpuid import baseline, export, guest_models, orchestrators, vmconfig
from cpus.cpuid.compat import parse_guest_cpu
from cpus.cpuid.table import TABLE

INTEL = (
    "aida64_XeonX5667_WestmereEP_libcpuid.txt",
    "aida64_XeonGold_SkylakeSP_libcpuid.txt",
    "aida64_XeonGold_CascadeLakeSP_libcpuid.txt",
)


@pytest.fixture(params=["demo", "intel", "skylake"])
def pool(request, demo, hosts):
    if request.param == "demo":
        return baseline.compute(list(demo))
    if request.param == "intel":
        return baseline.compute([hosts[name] for name in INTEL])
    return baseline.compute([hosts["aida64_XeonGold_SkylakeSP_libcpuid.txt"]] * 2)


def _mask(names, vocabulary):
    mask = 0
    for name in names:
        mask |= TABLE.lookup(name, vocabulary).mask
    return mask


def test_kubevirt_yaml_parses_back_to_the_fitted_libvirt_model(pool):
    answer = orchestrators.kubevirt(pool)
    document = yaml.safe_load(answer["yaml"])
    cpu = document["spec"]["domain"]["cpu"]
    assert cpu == answer["cpu"]
    fitted = pool.libvirt_model
    assert cpu["model"] == fitted.name
    plus = [f["name"] for f in cpu.get("features", []) if f["policy"] == "require"]
    minus = [f["name"] for f in cpu.get("features", []) if f["policy"] == "disable"]
    assert plus == fitted.plus_names and minus == fitted.minus_names
    # The guest these features give is the baseline's libvirt guest.
    model = guest_models.find(f"libvirt:{fitted.name}") or guest_models.find(fitted.name)
    assert (model.feature_mask | _mask(plus, "libvirt")) & ~_mask(minus, "libvirt") == (
        fitted.feature_mask
    )
    assert f"cpu-model.node.kubevirt.io/{fitted.name}" in answer["node_labels"]
    for name in plus:
        assert answer["node_labels"][f"cpu-feature.node.kubevirt.io/{name}"] == "true"
    # Our own KubeVirt reader reads the VM back to the same guest CPU.
    vmi = "apiVersion: kubevirt.io/v1\nkind: VirtualMachineInstance\n" + answer["yaml"]
    read = vmconfig.parse(vmi, "kubevirt")
    assert parse_guest_cpu(read.guest_cpu).model is not None


def test_nova_ini_parses_back(pool):
    answer = orchestrators.nova(pool)
    parser = configparser.ConfigParser()
    parser.read_string(answer["config"])
    section = parser["libvirt"]
    assert section["cpu_mode"] == "custom"
    models = [m.strip() for m in section["cpu_models"].split(",")]
    assert models == answer["cpu_models"] and models[-1] == pool.libvirt_model.name
    counts = [
        (guest_models.find(f"libvirt:{m}").feature_mask & baseline.BASELINE_UNIVERSE).bit_count()
        for m in models
    ]
    assert counts == sorted(counts)
    flags = [f.strip() for f in section.get("cpu_model_extra_flags", "").split(",") if f.strip()]
    assert [f[1:] for f in flags if f[0] == "+"] == pool.libvirt_model.plus_names
    for key, value in answer["flavor_extra_specs"].items():
        assert key.startswith("trait:HW_CPU_X86_") and value == "required"
    traits = {key.removeprefix("trait:") for key in answer["flavor_extra_specs"]}
    assert "HW_CPU_X86_SSE2" in traits
    assert ("HW_CPU_X86_AVX2" in traits) == ("avx2" in pool.features())
    assert answer["flavor_command"].startswith("openstack flavor set FLAVOR --property trait:")


def test_nova_workload_traits(hosts):
    pool = baseline.compute([hosts[name] for name in INTEL[1:]])
    answer = orchestrators.nova(pool, ["avx2", "aes"])
    assert answer["flavor_extra_specs"] == {
        "trait:HW_CPU_X86_AESNI": "required",
        "trait:HW_CPU_X86_AVX2": "required",
    }
    with pytest.raises(ValueError, match="lacks"):
        orchestrators.nova(baseline.compute([hosts[INTEL[0]]]), ["avx2"])


def test_proxmox_cpu_line_parses_back_to_the_baseline_guest(pool):
    answer = orchestrators.proxmox_vm(pool)
    config = "cores: 2\n" + answer["cpu_line"] + "\nmemory: 2048\n"
    if answer["custom_model"]:
        assert answer["cpu_line"] == "cpu: custom-kb-pool-baseline"
        assert answer["custom_model"] == export.proxmox(pool)
        with pytest.raises(vmconfig.VmConfigError, match="cpu-models.conf"):
            vmconfig.parse(config, "proxmox")
        return
    guest = parse_guest_cpu(vmconfig.parse(config, "proxmox").guest_cpu)
    model_mask = guest.model.feature_mask
    assert (model_mask | guest.added) & ~guest.removed == pool.proxmox_model.feature_mask


def test_proxmox_uses_a_builtin_type_when_one_fits(hosts):
    pool = baseline.compute([hosts["aida64_XeonGold_SkylakeSP_libcpuid.txt"]] * 2)
    answer = orchestrators.proxmox_vm(pool)
    flags = pool.proxmox_model.plus_names + pool.proxmox_model.minus_names
    fits = all(f in orchestrators.PROXMOX_VM_FLAGS for f in flags)
    assert (answer["custom_model"] == "") == fits


def test_libvirt_xml_parses_back(pool):
    domain = "<domain type='kvm'>\n" + export.libvirt_xml(pool) + "</domain>\n"
    guest = parse_guest_cpu(vmconfig.parse(domain, "libvirt").guest_cpu)
    assert (guest.model.feature_mask | guest.added) & ~guest.removed == (
        pool.libvirt_model.feature_mask
    )


def test_vsphere_keys_and_commands(pool):
    answer = orchestrators.vsphere(pool, cluster="prod")
    names = guest_models.evc_vcenter_names()
    for vendor, mode in answer["modes"].items():
        assert pool.evc_modes[vendor] == (mode["key"] if mode else None)
        if mode:
            assert mode["vcenter_name"] == names[mode["key"]]
            assert f"-EVCMode '{mode['key']}'" in mode["cluster_powercli"]
            assert vmconfig.parse(mode["key"], "vmware").guest_cpu == mode["key"]
