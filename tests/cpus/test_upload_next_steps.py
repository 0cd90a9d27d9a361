"""After an upload: "already known" for a duplicate, and the next steps; an empty file (what a
browser sends for /proc/cpuinfo) is refused with the reason and what to do."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cpus.models import Host, HostReport

DUMP = "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"


@pytest.mark.django_db
def test_a_duplicate_upload_says_already_known_and_leads_on(member_client, dump_bytes):
    client = member_client  # the upload form stores: it takes an account
    form = {"raw": dump_bytes(DUMP).decode(), "host_name": "harpertown"}
    first = client.post("/reports/upload/", form, follow=True).content.decode()
    again = client.post("/reports/upload/", form, follow=True).content.decode()

    host = Host.objects.get(name="harpertown")
    report = HostReport.objects.get()
    assert "Already known" not in first
    assert f"Already known: this exact report was uploaded before (report #{report.pk})" in again
    assert HostReport.objects.count() == 1
    for page in (first, again):
        assert f'href="/compat/pair/?source={host.pk}"' in page
        assert f'href="/compat/?hosts={host.pk}"' in page


@pytest.mark.django_db
def test_an_empty_file_explains_proc_files(member_client):
    client = member_client
    response = client.post(
        "/reports/upload/", {"file": SimpleUploadedFile("cpuinfo", b"", "text/plain")}
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Files under /proc (such as /proc/cpuinfo) show a size of 0" in page
    assert "cat /proc/cpuinfo &gt; cpuinfo.txt" in page
    assert HostReport.objects.count() == 0


@pytest.mark.django_db
def test_host_page_lists_a_report_attached_later_as_current(client, dump_bytes, django_user_model):
    from rest_framework.test import APIClient

    from cpus import services

    first, _ = services.report_ingest(raw=dump_bytes(DUMP), host_name="harpertown")
    other, _ = services.report_ingest(
        raw=dump_bytes("aida64_Opteron2378_Shanghai_2S_libcpuid.txt"), host_name="shanghai"
    )
    staff = APIClient()
    staff.force_authenticate(django_user_model.objects.create_user("ops", is_staff=True))
    host = first.host
    answer = staff.patch(f"/api/hosts/{host.pk}/", {"current_report": other.pk}, format="json")
    assert answer.status_code == 200, answer.content

    html = client.get(f"/hosts/{host.pk}/").content.decode()
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert f'href="/reports/{other.pk}/"' in rows
    assert f'href="/reports/{first.pk}/"' in rows
    current = rows.split(f'href="/reports/{other.pk}/"', 1)[1].split("</tr>", 1)[0]
    assert ">current</span>" in current
    assert f'href="/compat/pair/?source={host.pk}"' in html  # the next step
