"""/api/pools/baseline by tag, with guest OSes and every orchestrator's export; /api/compat/check
with a guest OS."""

import configparser

import yaml
from rest_framework.test import APIClient

DEMO = ("xeon-e5462-harpertown", "opteron-2350-barcelona", "opteron-2378-shanghai")


def _post(path, body):
    return APIClient().post(path, body, format="json")


def test_baseline_by_tag_equals_by_hosts_and_carries_the_orchestrators(seed_hosts):
    by_tag = _post("/api/pools/baseline", {"tag": "demo-2008", "guest_os": "rhel-10"})
    assert by_tag.status_code == 200, by_tag.json()
    by_hosts = _post("/api/pools/baseline", {"hosts": [{"host": h} for h in DEMO]}).json()
    body = by_tag.json()
    assert body["features"] == by_hosts["features"]
    assert body["qemu_model"] == by_hosts["qemu_model"]
    check = body["guest_os_check"]
    assert check["severity"] == "blocker" and check["message"].startswith("RHEL 10 will not boot")
    for feature in ("avx2", "bmi2", "fma"):
        assert feature in check["features"]
    runs = {entry["id"]: entry["runs"] for entry in body["guest_os"]}
    assert runs["rhel-10"] is False and runs["rhel-8"] is True
    orchestrators = body["exports"]["orchestrators"]
    cpu = yaml.safe_load(orchestrators["kubevirt"]["yaml"])["spec"]["domain"]["cpu"]
    assert cpu["model"] == body["libvirt_model"]["name"]
    ini = configparser.ConfigParser()
    ini.read_string(orchestrators["nova"]["config"])
    assert ini["libvirt"]["cpu_models"].split(", ")[-1] == body["libvirt_model"]["name"]
    assert orchestrators["proxmox"]["cpu_line"].startswith("cpu: ")
    assert set(orchestrators["vsphere"]["modes"]) == set(body["evc_modes"])


def test_baseline_errors(seed_hosts):
    assert _post("/api/pools/baseline", {"tag": "no-such-tag"}).status_code == 400
    assert _post("/api/pools/baseline", {}).status_code == 400
    both = {"tag": "demo-2008", "hosts": [{"host": DEMO[0]}]}
    assert _post("/api/pools/baseline", both).status_code == 400
    bad_os = {"tag": "demo-2008", "guest_os": "os/2"}
    assert _post("/api/pools/baseline", bad_os).status_code == 400


def test_check_with_a_guest_os(seed_hosts):
    body = {
        "source": {"host": DEMO[0]},
        "destination": {"host": DEMO[2]},
        "guest_cpu": "baseline",
        "guest_os": "RHEL 10",
    }
    answer = _post("/api/compat/check", body)
    assert answer.status_code == 200, answer.json()
    assert answer.json()["verdict"] == "blocked"
    assert any(r["message"].startswith("RHEL 10 will not boot") for r in answer.json()["reasons"])
    body["guest_os"] = "beos"
    assert _post("/api/compat/check", body).status_code == 400
