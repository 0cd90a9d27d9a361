"""The page where an operator pastes a VM definition (/vms/preflight/), and the guest OSes on
the pool page."""

from pathlib import Path

from cpus.models import Host

VMS = Path(__file__).resolve().parents[1] / "engine" / "vms"


def test_paste_a_libvirt_domain_and_see_every_host(client, seed_hosts):
    assert client.get("/vms/preflight/").status_code == 200
    source = Host.objects.get(name="xeon-gold-6154-skylake")
    page = client.post(
        "/vms/preflight/",
        {"vm": (VMS / "passthrough.xml").read_text(), "source": source.pk, "guest_os": "rhel-9"},
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "host-passthrough,phys-bits=42" in text
    assert "RHEL 9 can boot" in text
    for host in seed_hosts:
        if host["host"] != "xeon-gold-6154-skylake":
            assert host["host"] in text
    assert page.context["answer"]["counts"]["blocked"] > 0


def test_a_definition_with_issues_lists_them_with_lines(client, seed_hosts):
    source = Host.objects.get(name="xeon-gold-6154-skylake")
    page = client.post(
        "/vms/preflight/", {"vm": (VMS / "optional.xml").read_text(), "source": source.pk}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "line 5" in text and "line 6" in text and "frobnicate" in text
    page = client.post(
        "/vms/preflight/", {"vm": "<domain type='kvm'><cpu mode='host-model'/></domain>"}
    )
    assert page.status_code == 400 and "source host" in page.content.decode()
    page = client.post("/vms/preflight/", {"vm": "intel-penryn", "pool": "demo-2008"})
    assert page.status_code == 200
    assert page.context["answer"]["hypervisor"] == "vmware"
    assert "where it could start" in page.content.decode()


def test_the_pool_page_lists_the_guest_oses_its_baseline_runs(client, seed_hosts):
    text = client.get("/compat/", {"tag": "demo-2008"}).content.decode()
    assert "Guest operating systems on this baseline" in text
    # The 2008 pool lacks x86-64-v3 (and even v2: no sse4_2 on Harpertown).
    assert "will not boot</span> RHEL 10: lacks" in text
    assert "boots</span> RHEL 8" in text


def test_the_pool_page_plans_hosts_you_do_not_own_and_lists_standardisation(client, seed_hosts):
    genoa = Host.objects.get(name="epyc-9124-genoa").current_report.cpu_model
    page = client.get("/compat/", {"tag": "demo-2008", "plan": genoa.pk, "count": 4})
    assert page.status_code == 200
    what_if = page.context["what_if"]
    assert what_if["planned"].startswith("4 × ")
    real = client.get(
        "/compat/", {"tag": "demo-2008", "add": Host.objects.get(name="epyc-9124-genoa").pk}
    ).context["what_if"]
    assert (what_if["gained"], what_if["lost"], what_if["qemu_model"]) == (
        real["gained"],
        real["lost"],
        real["qemu_model"],
    )
    text = page.content.decode()
    assert "Standardisation choices" in text and "(the baseline)" in text
