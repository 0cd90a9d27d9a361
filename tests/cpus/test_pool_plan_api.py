"""POST /api/pools/plan: planned hosts, retirements, standardisation and stranded VMs."""

from rest_framework.test import APIClient

from cpus.models import Host


def _plan(**body):
    return APIClient().post("/api/pools/plan", body, format="json")


def _baseline(*names):
    answer = APIClient().post(
        "/api/pools/baseline", {"hosts": [{"host": n} for n in names]}, format="json"
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()


DEMO = ("xeon-e5462-harpertown", "opteron-2350-barcelona", "opteron-2378-shanghai")


def test_a_planned_host_changes_the_baseline_exactly_as_a_real_one(seed_hosts):
    genoa = Host.objects.get(name="epyc-9124-genoa").current_report.cpu_model
    planned = _plan(pool="demo-2008", add=[{"cpu_model": genoa.pk, "count": 4}])
    assert planned.status_code == 200, planned.json()
    body = planned.json()
    real = _baseline(*DEMO, "epyc-9124-genoa")
    # The same baseline as with the real Genoa host (only the host count differs: 4 planned).
    after = body["after"]
    assert after["hosts"] == 3 + 4
    assert after["qemu_model"] == real["qemu_model"]["spec"]
    assert after["libvirt_model"] == real["libvirt_model"]["spec"]
    assert after["x86_64_level"] == real["x86_64_level"]
    assert after["features"] == len(real["features"])
    before = _baseline(*DEMO)
    assert body["before"]["qemu_model"] == before["qemu_model"]["spec"]
    assert set(body["gained"]) == set(real["features"]) - set(before["features"])
    assert set(body["lost"]) == set(before["features"]) - set(real["features"])
    # Which existing hosts' VMs could not move to the new CPU: the matrix column.
    stranded = body["stranded"][str(genoa)]
    assert {row["host"] for row in stranded} == set(DEMO)
    check = (
        APIClient()
        .post(
            "/api/compat/check",
            {
                "source": {"host": "xeon-e5462-harpertown"},
                "destination": {"host": "epyc-9124-genoa"},
            },
            format="json",
        )
        .json()
    )
    harpertown = next(r for r in stranded if r["host"] == "xeon-e5462-harpertown")
    assert harpertown["host-passthrough"] == check["verdict"]


def test_retiring_and_standardisation(seed_hosts):
    body = _plan(pool="demo-2008", retire=["xeon-e5462-harpertown"]).json()
    after = _baseline("opteron-2350-barcelona", "opteron-2378-shanghai")
    assert body["after"]["qemu_model"] == after["qemu_model"]["spec"]
    options = body["standardisation"]
    assert options[0]["fitted"] and options[0]["drops"] == []
    assert options[0]["guest_model"] == after["qemu_model"]["spec"]
    drops = [len(option["drops"]) for option in options]
    assert drops == sorted(drops)
    everyone = _plan(hosts=[{"host": n} for n in DEMO]).json()["standardisation"]
    richer = [o for o in everyone if o["drops"]]
    assert richer and all(o["gained"] for o in richer)


def test_plan_errors(seed_hosts):
    assert _plan(pool="demo-2008", retire=["nowhere"]).status_code == 400
    assert _plan(pool="demo-2008", add=[{"cpu_model": 999999}]).status_code == 404
    assert _plan().status_code == 400
    assert _plan(pool="demo-2008", add=[{"cpu_model": 1, "count": 0}]).status_code == 400
