"""Uploads through the web form and the REST API: every format, dedupe, and refusals."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpus.models import CpuModel, FeatureSet, Host, HostReport

ONE_PER_FORMAT = {
    "cpuid-r": "thismachine_kvm_EPYC-Milan_cpuid-r.txt",
    "aida64": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
    "libcpuid": "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt",
    "libvirt-cpudata": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
    "x86info": "thismachine_kvm_EPYC-Milan_x86info-r.txt",
    "proc-cpuinfo": "proc_cpuinfo_XeonE5405_Harpertown_cpu0.txt",
    "lscpu": "thismachine_kvm_EPYC-Milan_lscpu.txt",
    "lscpu-json": "thismachine_kvm_EPYC-Milan_lscpu-J.json",
    "libvirt-capabilities": "thismachine_libvirt9.0_virsh_capabilities.xml",
    "libvirt-domcapabilities": "thismachine_libvirt9.0_virsh_domcapabilities_kvm.xml",
    "libvirt-cpu": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350-host.xml",
    "qmp": "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl",
}

XML_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    "<cpudata arch='x86'>&lol2;</cpudata>"
)
HOSTILE = {
    "empty": (b"", "empty"),
    "prose": (b"My server has two Xeons.\nHow do I migrate?\n", "not a recognised"),
    "nul bytes": (b"processor\t: 0\n\x00\x00\x00", "binary"),
    "binary junk": (bytes(range(256)) * 8, "binary"),
    "invalid utf-8": (
        b"processor\t: 0\nvendor_id\t: Genuine\xffIntel\nflags\t: fpu\n",
        "not UTF-8",
    ),
    "xml bomb": (XML_BOMB.encode(), "DTD"),
    "external entity": (
        b'<!DOCTYPE cpu [<!ENTITY x SYSTEM "file:///etc/passwd">]><cpu>&x;</cpu>',
        "DTD",
    ),
    "long line": (b"processor : 0\nflags : " + b"sse " * 70_000, "longer than"),
    "no leaf 1": (b"CPUID 00000000: 0000000A-756E6547-6C65746E-49656E69\n", "no CPUID leaf 1"),
}


def counts():
    return (
        HostReport.objects.count(),
        FeatureSet.objects.count(),
        CpuModel.objects.count(),
        Host.objects.count(),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("format_id", "name"), sorted(ONE_PER_FORMAT.items()))
def test_api_upload_of_every_format_is_decoded_and_stored_verbatim(
    api, dump_bytes, format_id, name
):
    data = dump_bytes(name)
    response = api.post(
        "/api/reports/",
        {"file": SimpleUploadedFile(name, data), "host_name": "node-1"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["format"] == format_id
    assert body["features"], "a decoded report lists its features"
    report = HostReport.objects.get(pk=body["id"])
    assert report.raw == data.decode("utf-8")
    assert report.host.name == "node-1" and report.host.owner == api.user
    assert report.uploaded_by == api.user


@pytest.mark.django_db
@pytest.mark.parametrize(("format_id", "name"), sorted(ONE_PER_FORMAT.items()))
def test_form_upload_of_every_format_shows_the_decoded_report(
    member_client, dump_bytes, format_id, name
):
    response = member_client.post(
        "/reports/upload/", {"raw": dump_bytes(name).decode(), "host_name": ""}, follow=True
    )
    assert response.status_code == 200
    report = HostReport.objects.get()
    assert report.format == format_id
    page = response.content.decode()
    assert f"Report #{report.pk}" in page
    assert report.cpu_model.vendor in page


@pytest.mark.django_db
def test_form_file_upload_shows_identity_features_and_warnings(member_client, dump_bytes):
    data = dump_bytes("aida64_XeonE5462_Harpertown_2S_libcpuid.txt")
    response = member_client.post(
        "/reports/upload/", {"file": SimpleUploadedFile("e5462.txt", data)}, follow=True
    )
    page = response.content.decode()
    assert "Intel(R) Xeon(R) CPU E5462 @ 2.80GHz" in page
    assert "6 / 23 / 6" in page
    assert ">ssse3<" in page and ">sse4_1<" in page
    assert "outside 64-bit mode" in page


@pytest.mark.django_db
def test_same_raw_twice_is_one_report(api, dump_bytes):
    data = dump_bytes("libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml").decode()
    first = api.post("/api/reports/", {"raw": data}, format="json")
    second = api.post("/api/reports/", {"raw": data}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert HostReport.objects.count() == 1


@pytest.mark.django_db
def test_reports_of_the_same_cpu_share_a_cpu_model_and_identical_views_share_a_feature_set(
    api, dump_bytes
):
    a = api.post(
        "/api/reports/",
        {"raw": dump_bytes("thismachine_kvm_EPYC-Milan_cpuid-r.txt").decode()},
        format="json",
    )
    b = api.post(
        "/api/reports/",
        {"raw": dump_bytes("thismachine_kvm_EPYC-Milan_cpuid-1-r.txt").decode()},
        format="json",
    )
    assert a.status_code == b.status_code == 201
    assert a.json()["cpu_model"]["id"] == b.json()["cpu_model"]["id"]
    assert (
        HostReport.objects.count() == 2
        and FeatureSet.objects.count() == 1
        and CpuModel.objects.count() == 1
    )


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_api_refuses_bad_input_with_reason_and_stores_nothing(api, case):
    data, reason = HOSTILE[case]
    before = counts()
    response = api.post(
        "/api/reports/", {"file": SimpleUploadedFile("dump.txt", data)}, format="multipart"
    )
    assert response.status_code == 400
    body = response.json()
    assert reason in body["error"]
    assert "line" in body
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_form_refuses_bad_input_with_reason_and_stores_nothing(member_client, case):
    data, reason = HOSTILE[case]
    response = member_client.post(
        "/reports/upload/", {"file": SimpleUploadedFile("dump.txt", data)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert reason.split()[0] in page or "Paste a report or choose a file" in page
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_refusal_names_the_line(api, dump_bytes):
    lines = dump_bytes("aida64_XeonE5462_Harpertown_2S_libcpuid.txt").decode().splitlines()
    lines[6] = "CPUID 00000004: 0C000122-01C0003F-0000003F"
    response = api.post("/api/reports/", {"raw": "\n".join(lines)}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "error": "malformed AIDA64 CPUID row; expected 'CPUID LEAF: EAX-EBX-ECX-EDX'",
        "code": "bad_dump",
        "detail": "line 7: malformed AIDA64 CPUID row; expected 'CPUID LEAF: EAX-EBX-ECX-EDX'",
        "line": 7,
    }


@pytest.mark.django_db
def test_oversized_upload_is_refused(api, settings):
    settings.CPUKB_MAX_UPLOAD_BYTES = 4096
    response = api.post(
        "/api/reports/", {"file": SimpleUploadedFile("big.txt", b"x" * 5000)}, format="multipart"
    )
    assert response.status_code == 400
    assert "limit" in response.json()["error"]
    assert HostReport.objects.count() == 0


@pytest.mark.django_db
def test_upload_without_report_is_a_400(api):
    response = api.post("/api/reports/", {"host_name": "x"}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_api_upload_needs_an_account(client, dump_bytes):
    response = client.post("/api/reports/", {"raw": "x"}, content_type="application/json")
    assert response.status_code in (401, 403)
    assert HostReport.objects.count() == 0
