"""The pool page shows every note and warning of each export next to its snippet (the Nova
snippet's warnings used to reach only the API and the command line)."""

from html import escape

import pytest

from cpus import selectors
from cpus.cpuid import baseline, export
from cpus.models import Host


@pytest.mark.django_db
def test_the_2008_pool_page_shows_each_exports_notes_next_to_it(client, seed_hosts):
    page = client.get("/compat/?tag=demo-2008").content.decode()
    hosts = Host.objects.filter(tags__name="demo-2008").select_related("current_report")
    pool = baseline.compute([selectors.report_host_view(h.current_report, h.name) for h in hosts])
    notes = export.all_exports(pool, "demo-2008")["notes"]
    assert notes["nova"] and any(n["level"] == "warning" for n in notes["nova"])
    for key, entries in notes.items():
        assert entries, key
        block = page.split(f'id="notes-{key}"', 1)[1].split("</ul>", 1)[0]
        for note in entries:
            assert escape(note["message"], quote=True) in block or escape(note["message"]) in block
    # the notes follow their own snippet, not another export's
    nova = page.split('id="export-nova"', 1)[1]
    assert nova.index('id="notes-nova"') < nova.index('id="export-proxmox"')
    assert "vendor=AuthenticAMD" in page and "vendor_id=&#x27;AuthenticAMD&#x27;" in page
    assert "Guest vendor" in page


@pytest.mark.django_db
def test_the_proxmox_model_is_named_after_the_pool_with_the_vms_cpu_line(client, seed_hosts):
    page = client.get("/compat/?tag=demo-2008").content.decode()
    block = page.split('id="export-proxmox"', 1)[1].split("</pre>", 1)[0]
    notes = page.split('id="notes-proxmox"', 1)[1].split("</ul>", 1)[0]

    assert block.lstrip(">").startswith("cpu-model: kb-demo-2008\n")
    assert "cpu: custom-kb-demo-2008" in notes
    assert "kb-pool-baseline" not in page


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("demo-2008", "kb-demo-2008"),
        ("Rack 7 / KVM", "kb-rack-7-kvm"),
        ("", "kb-pool-baseline"),
        (None, "kb-pool-baseline"),
        ("x" * 80, "kb-" + "x" * 37),
    ],
)
def test_proxmox_model_names_are_valid_ids(name, expected):
    assert export.proxmox_model_name(name) == expected
