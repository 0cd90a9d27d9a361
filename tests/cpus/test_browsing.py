"""Browsing the catalog: filters (PostgreSQL and SQLite), pages, API, bounded query counts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.samples import DUMPS

ROOT = Path(__file__).resolve().parents[2]

# Penryn (Harpertown) has SSE4.1 but not POPCNT, which came with Nehalem.
PENRYN = {
    "Intel(R) Xeon(R) CPU E5405 @ 2.00GHz",
    "Intel(R) Xeon(R) CPU E5420 @ 2.50GHz",
    "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz",
}
# AMD-V without 3DNow!: Zen (the Milan sample is a guest, which sees no svm).
ZEN_WITH_SVM = {
    "AMD EPYC 7551P 32-Core Processor",
    "AMD EPYC 7601 32-Core Processor",
    "AMD EPYC 9124 16-Core Processor",
}
QUERIES = {
    "?has_feature=sse4.1&lacks_feature=popcnt": PENRYN,
    "?has_feature=sse4_1,ssse3&lacks_feature=popcnt": PENRYN,
    "?has_feature=svm&lacks_feature=3dnow&lacks_feature=3dnowext": ZEN_WITH_SVM,
    "?has_feature=svm&lacks_feature=3dnow&vendor=AuthenticAMD&q=EPYC": ZEN_WITH_SVM,
}

SQLITE_SNIPPET = """
import json, sys
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from pathlib import Path
from cpus import services
from django.test import Client
seed = Path("cpus/seed")
for entry in json.loads((seed / "catalog.json").read_text())["hosts"]:
    raw = (seed / "dumps" / entry["file"]).read_bytes()
    services.report_ingest(raw=raw, host_name=entry["host"])
client = Client()
out = {}
for query in sys.argv[1:]:
    body = client.get("/api/cpu-models/" + query + "&limit=100").json()
    out[query] = sorted(cpu["brand"] for cpu in body["results"])
print(json.dumps(out))
"""


@pytest.mark.django_db
@pytest.mark.parametrize("query", sorted(QUERIES))
def test_feature_filters_return_exactly_the_right_cpus_on_postgresql(client, seed_hosts, query):
    from django.db import connection

    assert connection.vendor == "postgresql"
    body = client.get("/api/cpu-models/" + query + "&limit=100").json()
    assert {cpu["brand"] for cpu in body["results"]} == QUERIES[query]
    page = client.get("/cpus/" + query).content.decode()
    for brand in QUERIES[query]:
        assert brand in page


@pytest.mark.subprocess
def test_feature_filters_return_exactly_the_right_cpus_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'kb.sqlite3'}",
        DJANGO_SETTINGS_MODULE="kbsite.settings",
    )
    completed = subprocess.run(
        [sys.executable, "-c", SQLITE_SNIPPET, *sorted(QUERIES)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout.strip().splitlines()[-1])
    assert {query: set(brands) for query, brands in results.items()} == QUERIES


@pytest.mark.django_db
def test_unknown_feature_name_is_a_400_naming_it(client, seed_hosts):
    response = client.get("/api/cpu-models/?has_feature=sse9")
    assert response.status_code == 400
    assert "sse9" in json.dumps(response.json())
    assert client.get("/cpus/?has_feature=sse9").status_code == 400


@pytest.mark.django_db
def test_seeded_2008_cpus_show_their_real_features(client, seed_hosts):
    page = client.get("/cpus/?q=Opteron").content.decode()
    assert "Quad-Core AMD Opteron(tm) Processor 2378" in page and "Shanghai" in page
    body = client.get("/api/cpu-models/?q=2378").json()
    (shanghai,) = body["results"]
    detail = client.get(shanghai["url"]).json()
    assert {"sse4a", "misalignsse", "abm", "popcnt", "svm", "3dnowprefetch", "ibs"} <= set(
        detail["features"]
    )
    assert not {"ssse3", "sse4_1"} & set(detail["features"])
    libvirt = client.get(shanghai["url"] + "?names=libvirt").json()["features"]
    assert "cr8legacy" in libvirt and "cr8_legacy" not in libvirt


@pytest.mark.django_db
def test_cpu_page_switches_vocabulary_and_lists_reports(client, seed_hosts):
    from cpus.models import CpuModel

    cpu = CpuModel.objects.get(brand="Intel(R) Xeon(R) CPU E5462 @ 2.80GHz")
    linux = client.get(f"/cpus/{cpu.pk}/").content.decode()
    qemu = client.get(f"/cpus/{cpu.pk}/?names=qemu").content.decode()
    assert ">sse4_1<" in linux and ">sse4.1<" in qemu
    assert "xeon-e5462-harpertown" in linux
    assert "CPUID 0x1.0 ECX" in linux


@pytest.mark.django_db
def test_compare_two_cpus(client, seed_hosts):
    from cpus.models import CpuModel

    harpertown = CpuModel.objects.get(brand__contains="E5462")
    shanghai = CpuModel.objects.get(brand__contains="2378")
    page = client.get(f"/cpus/compare/?a={harpertown.pk}&b={shanghai.pk}").content.decode()
    only_a, rest = page.split("Only in B", 1)
    assert ">ssse3<" in only_a and ">sse4_1<" in only_a
    only_b, shared = rest.split("Shared", 1)
    assert ">sse4a<" in only_b and ">3dnow<" in only_b
    assert ">sse2<" in shared and ">cx16<" in shared


@pytest.mark.django_db
def test_feature_page_lists_the_cpus_that_have_it(client, seed_hosts):
    body = client.get("/api/features/sse4a/").json()
    assert body["location"] == "CPUID 0x80000001.0:ECX[6]"
    brands = {cpu["brand"] for cpu in body["cpu_models"]}
    assert "Quad-Core AMD Opteron(tm) Processor 2378" in brands
    assert not any("Xeon" in brand for brand in brands)
    assert "AMD Opteron(tm) Processor 248" not in brands  # K8 predates SSE4a


@pytest.mark.django_db
def test_hosts_filter_by_pool_tag(client, seed_hosts):
    body = client.get("/api/hosts/?tag=demo-2008").json()
    assert {host["name"] for host in body["results"]} == {
        "xeon-e5462-harpertown",
        "opteron-2350-barcelona",
        "opteron-2378-shanghai",
    }


@pytest.mark.django_db
def test_another_users_tag_of_the_same_name_never_joins_the_curated_pool(
    client, seed_hosts, django_user_model
):
    from cpus import services

    visitor = django_user_model.objects.create_user("visitor", password="kvm-migrates-2008")
    services.report_ingest(
        raw=(DUMPS / "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt").read_bytes(),
        host_name="my-nehalem",
        uploaded_by=visitor,
        tags=("demo-2008",),
    )
    curated = {"xeon-e5462-harpertown", "opteron-2350-barcelona", "opteron-2378-shanghai"}
    anonymous = client.get("/api/hosts/?tag=demo-2008").json()
    assert {host["name"] for host in anonymous["results"]} == curated
    page = client.get("/hosts/?tag=demo-2008").content.decode()
    assert "my-nehalem" not in page and "opteron-2378-shanghai" in page
    client.force_login(visitor)  # the visitor's own tag of that name is theirs
    own = client.get("/api/hosts/?tag=demo-2008").json()
    assert {host["name"] for host in own["results"]} == {"my-nehalem"}


@pytest.mark.django_db
def test_pages_have_helpful_empty_states(client):
    assert "upload a host report" in client.get("/cpus/").content.decode()
    assert "No hosts" in client.get("/hosts/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/cpu-models/",
        "/api/reports/",
        "/api/hosts/",
        "/api/features/",
        "/api/guest-models/",
        "/cpus/",
        "/hosts/",
        "/reports/",
        "/features/",
    ],
)
def test_list_endpoints_have_bounded_query_counts(
    client, api, dump_bytes, django_assert_max_num_queries, url
):
    from cpus import services

    services.feature_sync()
    for name in [
        "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
        "libcpuidraw_XeonE5420_Harpertown.txt",
    ]:
        services.report_ingest(raw=dump_bytes(name), host_name=name[:20], tags=("a", "b"))
    with django_assert_max_num_queries(8) as few:
        assert client.get(url).status_code == 200
    for name in [
        "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
        "aida64_EPYC9124_Genoa_libcpuid.txt",
        "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
        "libcpuidraw_EPYC7551P_Naples.txt",
        "aida64_Opteron248_K8_SledgeHammer_libcpuid.txt",
        "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt",
    ]:
        services.report_ingest(raw=dump_bytes(name), host_name=name[:20], tags=("a", "c"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
