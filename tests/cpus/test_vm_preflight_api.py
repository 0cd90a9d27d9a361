"""POST /api/vms/preflight: one VM over a seeded pool, the same verdicts as the pair checks."""

from pathlib import Path

from rest_framework.test import APIClient

VMS = Path(__file__).resolve().parents[1] / "engine" / "vms"


def _preflight(**body):
    return APIClient().post("/api/vms/preflight", body, format="json")


def _check(source, destination, guest_cpu, hypervisor="kvm"):
    answer = APIClient().post(
        "/api/compat/check",
        {
            "source": {"host": source},
            "destination": {"host": destination},
            "guest_cpu": guest_cpu,
            "hypervisor": hypervisor,
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()


def test_preflight_over_the_seeded_inventory_equals_the_pair_checks(seed_hosts):
    vm = (VMS / "vm.yaml").read_text()
    answer = _preflight(vm=vm, source={"host": "xeon-gold-6154-skylake"})
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert (
        body["vm"]["format"] == "kubevirt"
        and body["guest_cpu"] == "libvirt:Haswell-noTSX,-invtsc,+pcid"
    )
    names = [entry["host"] for entry in body["destinations"]]
    # Every host with a report but the source itself.
    assert len(names) == len(seed_hosts) - 1 and "xeon-gold-6154-skylake" not in names
    for entry in body["destinations"]:
        pair = _check("xeon-gold-6154-skylake", entry["host"], body["guest_cpu"])
        assert entry["verdict"] == pair["verdict"], entry["host"]
        assert entry["missing"] == pair["missing"]
        assert entry["reasons"] == pair["reasons"]
    assert sum(body["counts"].values()) == len(names)


def test_preflight_of_a_pool_with_a_guest_os_floor(seed_hosts):
    vm = "<domain type='kvm'><cpu mode='custom'><model>Penryn</model></cpu></domain>"
    answer = _preflight(
        vm=vm, source={"host": "xeon-e5462-harpertown"}, pool="demo-2008", guest_os="rhel-10"
    )
    assert answer.status_code == 200, answer.json()
    body = answer.json()
    assert [e["host"] for e in body["destinations"]] != []
    assert {e["host"] for e in body["destinations"]} == {
        "opteron-2350-barcelona",
        "opteron-2378-shanghai",
    }
    assert body["guest_os"]["boots"] is False
    assert "avx2" in body["guest_os"]["reason"]["features"]
    assert {e["verdict"] for e in body["destinations"]} == {"blocked"}
    # RHEL 8 boots on Penryn: the verdicts are then the pair checks'.
    answer = _preflight(
        vm=vm, source={"host": "xeon-e5462-harpertown"}, pool="demo-2008", guest_os="rhel-8"
    )
    for entry in answer.json()["destinations"]:
        pair = _check("xeon-e5462-harpertown", entry["host"], "Penryn")
        assert entry["verdict"] == pair["verdict"]


def test_preflight_errors(seed_hosts):
    source = {"host": "xeon-e5462-harpertown"}
    bad = _preflight(vm=(VMS / "optional.xml").read_text(), source=source)
    assert bad.status_code == 400
    assert [issue["line"] for issue in bad.json()["issues"]] == [5, 6]
    assert _preflight(vm="hello", source=source).status_code == 400
    assert _preflight(vm="intel-penryn", source=source, guest_os="beos").status_code == 400
    assert _preflight(vm="intel-penryn", source={"host": "nowhere"}).status_code == 404
    assert _preflight(vm="intel-penryn", source=source, pool="no-such-tag").status_code == 400
    answer = _preflight(vm="intel-penryn", source=source, format="vmware", pool="demo-2008")
    assert answer.status_code == 200 and answer.json()["hypervisor"] == "vmware"


def test_a_nul_separated_command_line_is_accepted(seed_hosts):
    cmdline = "\0".join(
        ["/usr/bin/qemu-system-x86_64", "-accel", "kvm", "-cpu", "Penryn,+popcnt", "-m", "2048"]
    )
    answer = _preflight(vm=cmdline + "\0", source={"host": "xeon-e5462-harpertown"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["vm"]["format"] == "qemu"
    assert answer.json()["guest_cpu"] == "Penryn,+popcnt"


def test_without_a_source_named_models_only(seed_hosts):
    answer = _preflight(vm="cpu: Nehalem\n", format="proxmox", pool="demo-2008")
    assert answer.status_code == 200, answer.json()
    for entry in answer.json()["destinations"]:
        pair = _check(entry["host"], entry["host"], "Nehalem")
        assert entry["verdict"] == pair["verdict"]
    refused = _preflight(vm="<domain type='kvm'><cpu mode='host-passthrough'/></domain>")
    assert refused.status_code == 400 and "source" in refused.json()["error"]
