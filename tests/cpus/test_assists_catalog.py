"""Migration assists on CPU model pages and in /api/cpu-models/, with the has_assist filter."""

import pytest
from django.utils.html import escape

from cpus.models import CpuModel


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("assist", "brands"),
    [
        (
            "intel-mask-v1",
            {
                "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz",
                "Intel(R) Xeon(R) CPU E5420 @ 2.50GHz",
                "Intel(R) Xeon(R) CPU E5405 @ 2.00GHz",
            },
        ),
        (
            "intel-mask-v2",
            {
                "Intel(R) Xeon(R) CPU E5520 @ 2.27GHz",
                "Intel(R) Xeon(R) CPU W3520 @ 2.67GHz",
                "Intel(R) Xeon(R) CPU X5667 @ 3.07GHz",
            },
        ),
        ("amd-cpuid-user-dis", {"AMD EPYC 9124 16-Core Processor"}),
    ],
)
def test_has_assist_filter(client, seed_hosts, assist, brands):
    body = client.get(f"/api/cpu-models/?has_assist={assist}&limit=100").json()
    assert {cpu["brand"] for cpu in body["results"]} == brands


@pytest.mark.django_db
def test_cpu_pages_show_assists_with_explanation_and_source(client, seed_hosts):
    barcelona = CpuModel.objects.get(brand="Quad-Core AMD Opteron(tm) Processor 2350")
    body = client.get(f"/api/cpu-models/{barcelona.pk}/").json()
    (override,) = body["assists"]["assists"]
    assert override["key"] == "amd-cpuid-override" and override["confidence"] == "inferred"
    assert override["source"] and override["explanation"]
    page = client.get(f"/cpus/{barcelona.pk}/").content.decode()
    assert "amd-cpuid-override" in page and escape(override["explanation"]) in page

    k8 = CpuModel.objects.get(brand="AMD Opteron(tm) Processor 248")
    assert client.get(f"/api/cpu-models/{k8.pk}/").json()["assists"]["assists"] == []
    assert (
        "VMware EVC cannot run it below its own feature level"
        in client.get(f"/cpus/{k8.pk}/").content.decode()
    )

    guest = CpuModel.objects.get(brand="Intel(R) Xeon(R) Silver 4114 CPU @ 2.20GHz")
    assists = client.get(f"/api/cpu-models/{guest.pk}/").json()["assists"]
    assert assists["host_unknown"] is True
    assert "inside a VM" in client.get(f"/cpus/{guest.pk}/").content.decode()
