"""`cpukb preflight FILE --source HOST --pool TAG` against a live server."""
# ruff: noqa: F811 (the fixtures are test_cpukb's, imported: pytest passes them by parameter name)

import json

import pytest

from tests.client.test_cpukb import LIVE, _fresh_throttles, kb, run_cli  # noqa: F401

KUBEVIRT = """apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: k8-guest
spec:
  domain:
    cpu:
      model: Opteron_G2
"""


def _tag(kb, tag: str, *names: str) -> None:
    """Tag the operator's hosts with the operator's own tag: names and tags resolve per user,
    so the CLI calls below send the operator's token."""
    from cpus.models import PoolTag

    # Tags are per owner (the hosts and the token are the operator's).
    pool, _ = PoolTag.objects.get_or_create(name=tag, owner=kb.user)
    for name in names:
        kb.hosts[name].host.tags.add(pool)


@LIVE
@pytest.mark.subprocess
def test_preflight_exit_status_and_listing(run_cli, kb, tmp_path):
    _tag(kb, "amd", "opteron-248", "barcelona-2344", "barcelona-2347", "shanghai-2378")
    vm = tmp_path / "vmi.yaml"
    vm.write_text(KUBEVIRT)
    args = ("preflight", str(vm), "--source", "barcelona-2344", "--pool", "amd")
    done = run_cli(*args, env=kb.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "VM k8-guest (kubevirt): guest CPU libvirt:Opteron_G2 on barcelona-2344" in done.stdout
    answer = json.loads(run_cli(*args, "--json", env=kb.env()).stdout)
    verdicts = {entry["host"]: entry["verdict"] for entry in answer["destinations"]}
    assert set(verdicts) == {"opteron-248", "barcelona-2347", "shanghai-2378"}
    for host, verdict in verdicts.items():
        check = run_cli(
            "check",
            "barcelona-2344",
            host,
            "--guest",
            answer["guest_cpu"],
            "--json",
            env=kb.env(),
        )
        assert json.loads(check.stdout)["verdict"] == verdict
    safe = [h for h, v in verdicts.items() if v in ("safe", "safe-with-model")]
    unsafe = [h for h, v in verdicts.items() if v == "blocked"]
    assert safe
    assert run_cli(*args, "--to", safe[0], env=kb.env()).returncode == 0
    if unsafe:
        assert run_cli(*args, "--to", unsafe[0], env=kb.env()).returncode == 2
    # A destination outside the pool, and a definition with an issue: exit 3, one line.
    outside = run_cli(*args, "--to", "harpertown-e5462", env=kb.env())
    assert outside.returncode == 3 and "not among" in outside.stderr
    bad = tmp_path / "bad.xml"
    bad.write_text("<domain type='kvm'>\n<cpu mode='custom'><model>Nope</model></cpu></domain>")
    done = run_cli("preflight", str(bad), "--source", "barcelona-2344", env=kb.env())
    assert done.returncode == 3 and "line 2" in done.stderr


@LIVE
@pytest.mark.subprocess
def test_preflight_none_safe_is_exit_2_and_reads_stdin(run_cli, kb):
    _tag(kb, "intel", "harpertown-e5462", "shanghai-2378")
    done = run_cli(
        "preflight",
        "-",
        "--source",
        "harpertown-e5462",
        "--pool",
        "intel",
        env=kb.env(),
        stdin="<domain type='kvm'><cpu mode='host-passthrough'/></domain>",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "blocked" in done.stdout and "shanghai-2378" in done.stdout


@LIVE
@pytest.mark.subprocess
def test_baseline_by_tag_for_each_orchestrator(run_cli, kb):
    import configparser

    import yaml

    _tag(kb, "amd", "barcelona-2344", "shanghai-2378")
    env = kb.env()
    pool = json.loads(run_cli("baseline", "--tag", "amd", "--format", "json", env=env).stdout)
    assert pool["vendors"] == {"AuthenticAMD": 2}
    kubevirt = run_cli("baseline", "--tag", "amd", "--format", "kubevirt", env=env)
    assert kubevirt.returncode == 0, kubevirt.stderr
    document = yaml.safe_load(kubevirt.stdout)
    assert document["spec"]["domain"]["cpu"]["model"] == pool["libvirt_model"]["name"]
    assert f"cpu-model.node.kubevirt.io/{pool['libvirt_model']['name']}=true" in kubevirt.stdout
    nova = run_cli("baseline", "--tag", "amd", "--format", "nova", env=env)
    ini = configparser.ConfigParser()
    ini.read_string(nova.stdout)
    assert ini["libvirt"]["cpu_models"].split(", ")[-1] == pool["libvirt_model"]["name"]
    assert "--property trait:HW_CPU_X86_SSE2=required" in nova.stdout
    proxmox = run_cli("baseline", "--tag", "amd", "--format", "proxmox-vm", env=env)
    assert proxmox.returncode == 0 and proxmox.stdout.startswith("cpu: ")
    vsphere = run_cli("baseline", "--tag", "amd", "--format", "vsphere", env=env)
    key = pool["evc_modes"]["amd"]
    assert vsphere.returncode == 0 and f"Set-Cluster -EVCMode '{key}'" in vsphere.stdout
    rhel10 = run_cli("baseline", "--tag", "amd", "--guest-os", "rhel-10", env=env)
    assert "RHEL 10 will not boot" in rhel10.stderr
    assert "RHEL 10: will not boot" in rhel10.stdout
    both = run_cli("baseline", "barcelona-2344", "--tag", "amd", env=env)
    assert both.returncode == 3 and "one of them" in both.stderr
