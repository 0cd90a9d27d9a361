"""Browsing a catalog of many vendors (issue 16): vendor names, codename search, sortable
columns with stable pages, on real dumps from tests/dumps."""

import pytest

from cpus import services
from cpus.models import CpuModel
from tests.samples import DUMPS

FILES = [
    "aida64_ZhaoxinKX-6640MA_LuJiaZui_libcpuid_cpu0.txt",
    "aida64_A4-5000_Jaguar_Kabini_untaggedD_libcpuid_cpu0.txt",
    "aida64_EPYC9124_Genoa_libcpuid.txt",
    "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "aida64_XeonX5667_WestmereEP_libcpuid.txt",
    "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt",
]


@pytest.fixture
def catalog(db):
    services.feature_sync()
    for name in FILES:
        services.report_ingest(raw=(DUMPS / name).read_bytes())
    return CpuModel.objects.all()


def brands(response) -> list[str]:
    return [str(cpu) for cpu in response.context["page"].object_list]


def test_zhaoxin_is_labelled_and_found_by_maker_and_codename(client, catalog):
    zhaoxin = CpuModel.objects.get(vendor="CentaurHauls")
    assert (zhaoxin.family, zhaoxin.model, zhaoxin.microarchitecture) == (7, 0x3B, "LuJiaZui")
    assert zhaoxin.vendor_name == "Centaur (VIA, Zhaoxin)"
    for query in ("?vendor=Zhaoxin", "?q=lujiazui", "?q=zhaoxin", "?microarchitecture=LuJia"):
        assert brands(client.get("/cpus/" + query)) == [str(zhaoxin)], query
    page = client.get("/cpus/?vendor=zhaoxin").content.decode()
    assert "Centaur (VIA, Zhaoxin)" in page


def test_vendor_names_and_strings_filter_the_same(client, catalog):
    by_name = brands(client.get("/cpus/?vendor=AMD"))
    assert by_name == brands(client.get("/cpus/?vendor=AuthenticAMD"))
    assert len(by_name) == 3
    assert brands(client.get("/cpus/?vendor=Intel&q=Xeon")) == brands(
        client.get("/cpus/?vendor=GenuineIntel")
    )
    assert brands(client.get("/cpus/?microarchitecture=Jaguar")) == [
        "AMD A4-5000 APU with Radeon(TM) HD Graphics"
    ]


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("family", lambda cpu: (cpu.family, cpu.pk)),
        ("-family", lambda cpu: (-cpu.family, cpu.pk)),
        ("cpu", lambda cpu: (cpu.brand, cpu.pk)),
        ("-features", lambda cpu: (-cpu.feature_set.feature_count, cpu.pk)),
        ("model", lambda cpu: (cpu.model, cpu.pk)),
    ],
)
def test_columns_sort_with_a_stable_tie_break(client, catalog, sort, key):
    response = client.get(f"/cpus/?ordering={sort}")
    assert response.status_code == 200
    expected = [str(cpu) for cpu in sorted(CpuModel.objects.select_related("feature_set"), key=key)]
    assert brands(response) == expected


def test_sort_links_keep_the_filters_and_toggle(client, catalog):
    page = client.get("/cpus/?vendor=AMD&ordering=family").content.decode()
    assert 'href="?vendor=AMD&amp;ordering=-family"' in page  # ascending now: the link descends
    assert 'href="?vendor=AMD&amp;ordering=model"' in page
    assert client.get("/cpus/?ordering=nonsense").status_code == 400


def test_the_api_takes_the_same_vendor_names_and_sorting(client, catalog):
    body = client.get("/api/cpu-models/?vendor=AMD&ordering=-family").json()
    families = [cpu["family"] for cpu in body["results"]]
    assert len(families) == 3 and families == sorted(families, reverse=True)


def _two_socket_epyc_sized() -> bytes:
    """Derived: the real 32-CPU EPYC 9124 dump's CPU blocks repeated, renumbered, to 2.6 MB
    (the size of a full AIDA64 report of a two-socket EPYC with 384 logical CPUs)."""
    import re

    body = (DUMPS / "aida64_EPYC9124_Genoa_libcpuid.txt").read_text().split("-" * 80 + "\n")[0]
    blocks = [b for b in re.split(r"(?m)^(?=------\[ CPUID Registers / )", body) if b.strip()]
    out, number = [], 0
    while sum(map(len, out)) < 2_600_000:
        block = blocks[number % len(blocks)]
        out.append(re.sub(r"Logical CPU #\d+", f"Logical CPU #{number}", block, count=1))
        number += 1
    return "".join(out).encode()


def test_a_large_real_report_passes_every_size_limit(api, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cpus.models import HostReport

    data = _two_socket_epyc_sized()
    assert len(data) > 2 * 1024 * 1024
    assert len(data) <= settings.CPUKB_MAX_UPLOAD_BYTES
    response = api.post(
        "/api/reports/", {"file": SimpleUploadedFile("epyc.txt", data)}, format="multipart"
    )
    assert response.status_code == 201, response.content[:300]
    report = HostReport.objects.get()
    assert report.raw.encode() == data  # stored whole, though only 2 MiB was parsed
    assert report.cpu_model.brand == "AMD EPYC 9124 16-Core Processor"
