"""Issue 14: a host report's stack (QEMU, libvirt, kernel, microcode, VMX capabilities) through
the upload API and form, what virsh capabilities uploads say themselves, the host page, and the
guest-model page's "exists since"."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpus import selectors
from cpus.cpuid import compat
from cpus.models import GuestCpuModel, HostReport

MILAN = "thismachine_kvm_EPYC-Milan_cpuid-r.txt"
CAPABILITIES = "thismachine_libvirt9.0_virsh_capabilities.xml"
STACK = {
    "qemu_version": "QEMU emulator version 7.2.0 (Debian 1:7.2+dfsg-7)",
    "libvirt_version": "9.0.0",
    "kernel_release": "6.1.0-18-amd64",
    "kernel_cmdline": "BOOT_IMAGE=/vmlinuz ro quiet tsx=off mitigations=auto",
    "microcode": "0xa0011d1",
    "vulnerabilities": {"mds": "Not affected", "tsx_async_abort": "Not affected"},
}


@pytest.mark.django_db
def test_api_upload_stores_the_stack_and_the_host_page_shows_it(api, client, dump_bytes):
    response = api.post(
        "/api/reports/",
        {"raw": dump_bytes(MILAN).decode(), "host_name": "kvm-1", "stack": STACK},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["stack"]["microcode"] == "0xa0011d1"
    assert body["stack"]["kernel_release"] == "6.1.0-18-amd64"
    report = HostReport.objects.get(pk=body["id"])
    view = selectors.report_host_view(report)
    assert view.stack.qemu == (7, 2, 0) and view.stack.libvirt == (9, 0, 0)
    assert view.stack.cmdline_options == {"tsx": "off", "mitigations": "auto"}
    page = client.get(f"/hosts/{report.host_id}/").content.decode()
    assert "6.1.0-18-amd64" in page and "0xa0011d1" in page and "tsx_async_abort" in page


@pytest.mark.django_db
def test_multipart_upload_takes_the_stack_as_json_text(api, dump_bytes):
    response = api.post(
        "/api/reports/",
        {
            "file": SimpleUploadedFile("milan.txt", dump_bytes(MILAN)),
            "stack": json.dumps({"qemu_version": "8.2.2"}),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["stack"]["qemu_version"] == "8.2.2"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("stack", "reason"),
    [
        ({"qemu_version": "latest"}, "no x.y version"),
        ({"microcode": "banana"}, "not a hex revision"),
        ({"vmx_features": ["ept"]}, "vmx-*"),
        ({"colour": "blue"}, "unknown field"),
        ("{not json", "valid JSON"),
    ],
)
def test_bad_stack_is_a_400_naming_the_field_and_stores_nothing(api, dump_bytes, stack, reason):
    response = api.post(
        "/api/reports/",
        {"file": SimpleUploadedFile("milan.txt", dump_bytes(MILAN)), "stack": json.dumps(stack)}
        if isinstance(stack, dict)
        else {"file": SimpleUploadedFile("milan.txt", dump_bytes(MILAN)), "stack": stack},
        format="multipart",
    )
    assert response.status_code == 400
    assert reason in json.dumps(response.json())
    assert HostReport.objects.count() == 0


@pytest.mark.django_db
def test_same_dump_with_another_stack_is_a_new_report_of_the_host(api, dump_bytes):
    raw = dump_bytes(MILAN).decode()
    first = api.post("/api/reports/", {"raw": raw, "host_name": "kvm-1"}, format="json")
    again = api.post("/api/reports/", {"raw": raw, "host_name": "kvm-1"}, format="json")
    updated = api.post(
        "/api/reports/",
        {"raw": raw, "host_name": "kvm-1", "stack": {"microcode": "0xa0011d5"}},
        format="json",
    )
    assert (first.status_code, again.status_code, updated.status_code) == (201, 200, 201)
    assert first.json()["id"] == again.json()["id"] != updated.json()["id"]


@pytest.mark.django_db
def test_virsh_capabilities_upload_fills_microcode_and_machine_types(api, dump_bytes):
    response = api.post("/api/reports/", {"raw": dump_bytes(CAPABILITIES).decode()}, format="json")
    assert response.status_code == 201, response.json()
    stack = response.json()["stack"]
    # <microcode version='16777317'/> and the newest pc-*-7.2 machine type of that QEMU 7.2
    assert stack["microcode"] == hex(16777317)
    assert "pc-q35-7.2" in stack["qemu_machine_types"]
    assert stack["qemu_version"] == "7.2.0"


@pytest.mark.django_db
def test_form_upload_takes_stack_fields_and_refuses_a_bad_one(member_client, dump_bytes):
    client = member_client  # the upload form stores: it takes an account
    raw = dump_bytes(MILAN).decode()
    bad = client.post("/reports/upload/", {"raw": raw, "qemu_version": "newest"})
    assert bad.status_code == 400 and HostReport.objects.count() == 0
    assert "no x.y version" in bad.content.decode()
    good = client.post(
        "/reports/upload/", {"raw": raw, "qemu_version": "5.2.0", "microcode": "a0011d1"}
    )
    assert good.status_code == 302
    assert HostReport.objects.get().stack["qemu_version"] == "5.2.0"


@pytest.mark.django_db
def test_stored_stack_blocks_a_model_the_destination_qemu_lacks(api, dump_bytes):
    raw = dump_bytes(MILAN).decode()
    ids = [
        api.post(
            "/api/reports/", {"raw": raw, "stack": {"qemu_version": version}}, format="json"
        ).json()["id"]
        for version in ("7.2.0", "5.2.0")
    ]
    new, old = (selectors.report_host_view(HostReport.objects.get(pk=pk)) for pk in ids)
    verdict = compat.check(new, old, "EPYC-Milan")
    assert verdict.verdict == "blocked"
    assert any(r.axis == "stack" and "QEMU 6.0.0" in r.message for r in verdict.reasons)


@pytest.mark.django_db
def test_guest_model_page_says_since_when_the_model_exists(client, db):
    from cpus import services

    services.feature_sync()
    services.guest_models_sync()
    model = GuestCpuModel.objects.get(source="qemu", name="Cascadelake-Server-v3")
    page = client.get(f"/guest-models/{model.pk}/").content.decode()
    assert "QEMU 4.2.0" in page  # Cascadelake-Server-v3 and its alias -noTSX
    assert "libvirt" in page


@pytest.mark.django_db
def test_qmp_host_expansion_fills_the_vmx_capabilities(api, dump_bytes):
    name = "thismachine_qemu7.2_qmp_query-cpu-model-expansion_host.jsonl"
    response = api.post("/api/reports/", {"raw": dump_bytes(name).decode()}, format="json")
    assert response.status_code == 201, response.json()
    # an AMD host under KVM: QEMU lists every vmx-* property, all false: known, and none
    assert response.json()["stack"]["vmx_features"] == []
