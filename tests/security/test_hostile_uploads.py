"""Hostile uploads are refused cleanly (400 with a reason that names the problem), store nothing.

tests/cpus/test_uploads.py covers hostile *contents* sent as a multipart file to both doors.
These add what it does not: Django's request limits (too many files, too many fields, a body
over DATA_UPLOAD_MAX_MEMORY_SIZE), the real default size limit, the same hostile contents as
JSON `raw` text and pasted form text, and text JSON can carry but bytes cannot (lone surrogates).
"""

import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from cpus.models import CpuModel, FeatureSet, Host, HostReport
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

pytestmark = pytest.mark.django_db

XML_BOMB = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + "]><cpudata arch='x86'>&lol9;</cpudata>"
)

# As text: what JSON `raw` and a pasted form field can carry.
HOSTILE_TEXT = {
    "nul": ("processor\t: 0\n\x00vendor_id\t: GenuineIntel\n", "NUL"),
    "control characters": ("processor\t: 0\n\x1b[2J\x07\n", "binary"),
    "lone surrogate": ("processor\t: 0\nvendor_id\t: Genuine\udcffIntel\n", "surrogate"),
    "xml bomb": (XML_BOMB, "DTD"),
    "external entity": (
        '<?xml version="1.0"?><!DOCTYPE cpudata [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<cpudata arch='x86'>&x;</cpudata>",
        "DTD",
    ),
    "parameter entity": (
        '<!DOCTYPE capabilities [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
        "<capabilities/>",
        "DTD",
    ),
    "long line": ("processor : 0\nflags : " + "sse " * 70_000, "longer than"),
    "many short lines": ("\n" * 1_000_000, "empty"),
}


def counts() -> tuple[int, ...]:
    return (
        HostReport.objects.count(),
        FeatureSet.objects.count(),
        CpuModel.objects.count(),
        Host.objects.count(),
        MigrationRecord.objects.count(),
    )


def small_dump(i: int) -> SimpleUploadedFile:
    return SimpleUploadedFile(f"dump{i}.txt", b"processor\t: 0\n")


# --- REST API (token header) ------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(HOSTILE_TEXT))
def test_api_refuses_hostile_raw_text_and_stores_nothing(api, case):
    text, reason = HOSTILE_TEXT[case]
    before = counts()
    response = api.post(
        "/api/reports/",
        json.dumps({"raw": text, "host_name": "evil"}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content[:300]
    assert reason.lower() in response.json()["error"].lower()
    assert counts() == before


def test_api_refuses_too_many_files_in_one_request(api, resilience_wired):
    before = counts()
    files = [small_dump(i) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = api.post("/api/reports/", {"file": files}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "too_many_files"
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files" in body["error"]
    assert counts() == before


def test_api_refuses_json_body_over_django_memory_limit(api, resilience_wired):
    before = counts()
    raw = "processor\t: 0\n" + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = api.post("/api/reports/", json.dumps({"raw": raw}), content_type="application/json")
    assert response.status_code in (400, 413)
    body = response.json()
    assert body["code"] == "request_too_large"
    assert "larger than" in body["error"]
    assert counts() == before


def test_api_refuses_too_many_form_fields(api, resilience_wired):
    before = counts()
    fields = "&".join(f"f{i}=x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    response = api.post("/api/reports/", fields, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_fields"
    assert counts() == before


def test_api_refuses_a_file_over_the_default_limit(api):
    before = counts()
    limit = settings.CPUKB_MAX_UPLOAD_BYTES
    big = SimpleUploadedFile("big.txt", b"processor\t: 0\n" + b"x" * limit)
    response = api.post("/api/reports/", {"file": big}, format="multipart")
    assert response.status_code == 400
    assert f"the limit is {limit:,}" in response.json()["error"]
    assert counts() == before


def test_api_applies_the_configured_limit_to_raw_text_too(api, settings):
    settings.CPUKB_MAX_UPLOAD_BYTES = 4096
    raw = (DUMPS / "aida64_Opteron2378_Shanghai_2S_libcpuid.txt").read_text()
    assert len(raw.encode()) > 4096
    response = api.post("/api/reports/", {"raw": raw}, format="json")
    assert response.status_code == 400
    assert HostReport.objects.count() == 0


def test_api_with_a_revoked_token_stores_nothing(db, token_user):
    key = token_user.token.key
    token_user.token.delete()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.post("/api/reports/", {"raw": "processor\t: 0\n"}, format="json")
    assert response.status_code == 401
    assert HostReport.objects.count() == 0


# --- The web form -----------------------------------------------------------------------------


# A form post is UTF-8 encoded: a lone surrogate cannot be sent that way.
@pytest.mark.parametrize(
    "case",
    [pytest.param(case) for case in sorted(set(HOSTILE_TEXT) - {"lone surrogate"})],
)
def test_form_refuses_hostile_pasted_text_and_stores_nothing(member_client, case):
    text, reason = HOSTILE_TEXT[case]
    # Django's form field refuses NUL itself; blank text is "nothing pasted".
    reason = {"nul": "Null characters", "many short lines": "Paste a report"}.get(case, reason)
    response = member_client.post("/reports/upload/", {"raw": text})
    assert response.status_code == 400
    assert counts() == (0, 0, 0, 0, 0)
    assert reason in response.content.decode()


def _csrf_client() -> tuple[Client, str]:
    """A browser-like client, signed in: CSRF enforced, token from the form page."""
    from django.contrib.auth import get_user_model

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(get_user_model().objects.create_user("browser", password="pw-browser-1"))
    page = browser.get("/reports/upload/")
    assert page.status_code == 200
    return browser, browser.cookies["csrftoken"].value


def test_form_refuses_too_many_files_with_a_clear_page(resilience_wired):
    browser, token = _csrf_client()
    files = [small_dump(i) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    response = browser.post("/reports/upload/", {"csrfmiddlewaretoken": token, "file": files})
    assert response.status_code == 400
    page = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files" in page
    assert counts() == (0, 0, 0, 0, 0)


def test_form_refuses_pasted_text_over_django_memory_limit(resilience_wired):
    browser, token = _csrf_client()
    raw = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = browser.post("/reports/upload/", {"csrfmiddlewaretoken": token, "raw": raw})
    assert response.status_code in (400, 413)
    assert "larger than" in response.content.decode()
    assert counts() == (0, 0, 0, 0, 0)


def test_form_refuses_a_file_over_the_default_limit(member_client):
    limit = settings.CPUKB_MAX_UPLOAD_BYTES
    big = SimpleUploadedFile("big.txt", b"processor\t: 0\n" + b"x" * limit)
    response = member_client.post("/reports/upload/", {"file": big})
    assert response.status_code == 400
    assert f"the limit is {limit:,}" in response.content.decode()
    assert counts() == (0, 0, 0, 0, 0)
