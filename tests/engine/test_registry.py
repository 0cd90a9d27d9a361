"""One registry of hypervisor policies that every list of hypervisors reads."""

import importlib.util
import inspect
from pathlib import Path

from cpus.compat import runs as matrix_runs
from cpus.compat.api import checks as api_compat
from cpus.compat.api import runs as api_matrix
from cpus.cpuid import baseline, compat, matrix, policies, vmconfig
from cpus.cpuid.identity import HYPERVISOR_NAMES
from cpus.cpuid.policies.base import COMMON_RULES, Policy
from cpus.management.commands import check_pair, compat_matrix
from migrations_log import explain
from migrations_log.models import Hypervisor

ROOT = Path(__file__).resolve().parents[2]


def _client():
    spec = importlib.util.spec_from_file_location("cpukb_client", ROOT / "client" / "cpukb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_list_of_hypervisors_is_the_registry():
    assert policies.HYPERVISORS == ("kvm", "vmware", "hyperv")
    assert compat.HYPERVISORS is policies.HYPERVISORS
    assert matrix.HYPERVISORS is policies.HYPERVISORS
    assert matrix_runs.HYPERVISORS is policies.HYPERVISORS
    assert check_pair.HYPERVISORS is policies.HYPERVISORS
    assert compat_matrix.HYPERVISORS is policies.HYPERVISORS
    field = api_compat.CheckInput().fields["hypervisor"]
    assert tuple(field.choices) == policies.HYPERVISORS
    assert api_matrix.compat.HYPERVISORS is policies.HYPERVISORS


def test_the_standalone_client_keeps_an_equal_copy():
    client = _client()
    assert client.HYPERVISORS_CHECK == policies.HYPERVISORS
    assert client.HYPERVISORS_RECORD == policies.RECORDED
    assert client.VM_FORMATS == vmconfig.FORMATS


def test_the_ledger_knows_every_engine_hypervisor():
    assert set(policies.HYPERVISORS) <= set(explain.HYPERVISORS)
    assert set(policies.HYPERVISORS) <= set(Hypervisor.values)
    for key, label in policies.CHOICES:
        assert Hypervisor(key).label == label


def test_the_ledger_records_the_registry_then_the_ones_it_does_not_judge():
    assert policies.RECORDED == ("kvm", "vmware", "hyperv", "xen")
    assert policies.RECORDED[: len(policies.HYPERVISORS)] == policies.HYPERVISORS
    assert not set(policies.RECORDED[len(policies.HYPERVISORS) :]) & set(policies.POLICIES)
    assert Hypervisor.choices == list(policies.RECORDED_CHOICES)
    # The stored values and labels of migration 0001, unchanged.
    assert Hypervisor.choices == [
        ("kvm", "KVM / QEMU / libvirt"),
        ("vmware", "VMware vSphere"),
        ("hyperv", "Hyper-V"),
        ("xen", "Xen"),
    ]
    assert ("qemu", "libvirt", *policies.RECORDED) == explain.HYPERVISORS
    assert {rule.hypervisor for rule in explain._RULES} <= set(explain.HYPERVISORS)


def test_every_vm_format_is_run_by_an_engine_hypervisor():
    assert tuple(vmconfig.HYPERVISOR_OF_FORMAT) == vmconfig.FORMATS
    assert set(vmconfig.HYPERVISOR_OF_FORMAT.values()) <= set(policies.HYPERVISORS)


def test_the_hardware_virtualisation_list_is_of_cpuid_vendor_names_not_engine_keys():
    assert set(baseline.HW_VIRT_ONLY_HYPERVISOR_VENDORS) <= set(HYPERVISOR_NAMES.values())


def test_every_rule_is_a_small_function_that_names_its_source():
    sources = ("Linux", "QEMU", "libvirt", "VMware", "Microsoft", "Intel SDM", "docs/", "target/")
    for policy in policies.POLICIES.values():
        assert isinstance(policy, Policy) and policy.label
        for rule in (*policy.rules, *COMMON_RULES):
            doc = inspect.getdoc(rule)
            assert doc and any(source in doc for source in sources), rule.__name__
            assert len(inspect.getsource(rule).splitlines()) < 80, rule.__name__


def test_unknown_hypervisor_names_the_registry():
    try:
        policies.get("xen")
    except ValueError as error:
        assert "('kvm', 'vmware', 'hyperv')" in str(error)
    else:
        raise AssertionError("xen is not an engine hypervisor")
