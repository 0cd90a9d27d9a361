"""The CPU page's highest EVC mode follows the vendor's order (VMware KB 1003212), with
vCenter's display name (docs/baselines-and-exports.md)."""

import pytest

from cpus import selectors
from cpus.models import CpuModel


@pytest.mark.django_db
def test_shanghai_page_shows_opteron_gen_3_not_the_alphabetically_last_mode(client, seed_hosts):
    shanghai = CpuModel.objects.get(brand__contains="Opteron(tm) Processor 2378")
    evc = selectors.evc_modes_of(shanghai.feature_set, shanghai.vendor)
    assert evc["highest"] == {"key": "amd-greyhound", "vcenter_name": "AMD Opteron Generation 3"}
    assert [m["key"] for m in evc["supported"]] == [
        "amd-rev-e",
        "amd-rev-f",
        "amd-greyhound-no3dnow",
        "amd-greyhound",
    ]
    # the old page took the alphabetically last of these
    assert max(m["key"] for m in evc["supported"]) == "amd-rev-f"
    page = client.get(f"/cpus/{shanghai.pk}/").content.decode()
    highest = page.split("Highest VMware EVC mode</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert highest.startswith("<code>amd-greyhound</code> (AMD Opteron Generation 3)")


@pytest.mark.django_db
def test_zen_and_intel_pages_show_their_highest_mode(client, seed_hosts):
    expected = {
        "AMD EPYC 9124 16-Core Processor": "amd-zen3",
        "AMD EPYC 7551P 32-Core Processor": "amd-zen",  # 0xD.1 unknown in that dump: assumed
        "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz": "intel-penryn",
    }
    for brand, key in expected.items():
        cpu = CpuModel.objects.get(brand=brand)
        assert selectors.evc_modes_of(cpu.feature_set, cpu.vendor)["highest"]["key"] == key
        assert f"<code>{key}</code>" in client.get(f"/cpus/{cpu.pk}/").content.decode()


@pytest.mark.django_db
def test_the_catalog_labels_evc_modes_with_vcenter_names_and_lists_proxmox_types(client):
    from cpus import services
    from cpus.models import GuestCpuModel

    services.feature_sync()
    services.guest_models_sync()
    fork = GuestCpuModel.objects.get(source="vmware-evc", name="amd-greyhound-no3dnow")
    assert fork.label == "AMD Opteron Generation 3 (no 3DNow!)"
    v2_aes = GuestCpuModel.objects.get(source="proxmox", name="x86-64-v2-AES")
    assert v2_aes.get_source_display() == "Proxmox VE" and v2_aes.vendor == ""
    page = client.get(f"/guest-models/{fork.pk}/").content.decode()
    assert "AMD Opteron Generation 3 (no 3DNow!)" in page
