"""One upload-size setting (issue 17): ``CPUKB_MAX_UPLOAD_BYTES`` is the limit of the upload form,
the API and the management commands, passed to the core's ``decode(max_bytes=...)``; the core's
own 8 MiB (``MAX_BYTES``) is only the default of callers without settings, and no longer wins
over a larger setting.  The request-size limit is derived from the setting, so a request carrying
a dump of the largest size reaches the view."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from cpus import services
from cpus.cpuid import DumpParseError, decode
from cpus.cpuid.formats import MAX_BYTES
from cpus.models import HostReport
from tests.samples import DUMPS

RAISED = MAX_BYTES + 2 * 1024 * 1024  # 10 MiB: above the core's default


def big_aida64(size: int) -> bytes:
    """Derived: the real 32-CPU EPYC 9124 dump's CPU blocks repeated and renumbered to at least
    ``size`` bytes (as tests/cpuid/test_long_tail.py does)."""
    body = (DUMPS / "aida64_EPYC9124_Genoa_libcpuid.txt").read_text().split("-" * 80 + "\n")[0]
    blocks = [b for b in re.split(r"(?m)^(?=------\[ CPUID Registers / Logical CPU #)", body)]
    blocks = [b for b in blocks if b.strip()]
    out, total, number = [], 0, 0
    while total < size:
        block = blocks[number % len(blocks)]
        out.append(re.sub(r"Logical CPU #\d+", f"Logical CPU #{number}", block, count=1))
        total += len(out[-1].encode())
        number += 1
    return "".join(out).encode()


@pytest.fixture(scope="module")
def over_default() -> bytes:
    """A valid dump larger than the core's default limit, smaller than RAISED."""
    data = big_aida64(MAX_BYTES + 512 * 1024)
    assert MAX_BYTES < len(data) < RAISED
    return data


@pytest.fixture
def raised(settings):
    """CPUKB_MAX_UPLOAD_BYTES raised above the core's default, with the request limits that
    kbsite/settings.py derives from it."""
    settings.CPUKB_MAX_UPLOAD_BYTES = RAISED
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = RAISED + settings.UPLOAD_REQUEST_MARGIN
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = RAISED
    settings.CPUKB_MAX_REQUEST_BYTES = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return RAISED


def test_the_core_takes_the_limit_as_a_parameter(over_default):
    with pytest.raises(DumpParseError, match=f"the limit is {MAX_BYTES:,}"):
        decode(over_default)  # the core's own default, for callers without settings
    assert decode(over_default, max_bytes=RAISED).format == "aida64"
    small = (DUMPS / "aida64_EPYC9124_Genoa_libcpuid.txt").read_bytes()
    with pytest.raises(DumpParseError, match="the limit is 1,024"):
        decode(small, max_bytes=1024)


def test_the_request_limits_are_derived_from_the_upload_setting(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == (
        settings.CPUKB_MAX_UPLOAD_BYTES + settings.UPLOAD_REQUEST_MARGIN
    )
    assert settings.CPUKB_MAX_REQUEST_BYTES == settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.django_db
def test_a_multipart_upload_of_the_largest_dump_is_not_refused_by_the_request_limit(api, settings):
    limit = settings.CPUKB_MAX_UPLOAD_BYTES
    services.feature_sync()
    data = big_aida64(limit - 4096)
    data += b"\n" * (limit - len(data))  # exactly the limit
    assert len(data) == limit
    response = api.post(
        "/api/reports/",
        {
            "file": SimpleUploadedFile("big.txt", data),
            "host_name": "big-epyc",
            "stack": json.dumps({"qemu_version": "8.2.2", "microcode": "0xa101148"}),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content[:300]
    assert HostReport.objects.get(pk=response.json()["id"]).host.name == "big-epyc"


@pytest.mark.django_db
def test_the_api_accepts_a_dump_above_the_core_default_when_the_setting_allows_it(
    api, raised, over_default
):
    services.feature_sync()
    response = api.post(
        "/api/reports/", {"file": SimpleUploadedFile("big.txt", over_default)}, format="multipart"
    )
    assert response.status_code == 201, response.content[:300]
    assert response.json()["format"] == "aida64"
    assert HostReport.objects.count() == 1


@pytest.mark.django_db
def test_the_api_refuses_a_dump_above_the_setting_in_the_error_shape(api, settings):
    settings.CPUKB_MAX_UPLOAD_BYTES = 100_000  # the request limit stays larger
    data = big_aida64(150_000)
    for body, fmt in [
        ({"file": SimpleUploadedFile("big.txt", data)}, "multipart"),
        ({"raw": data.decode()}, "json"),
    ]:
        response = api.post("/api/reports/", body, format=fmt)
        assert response.status_code == 400
        error = response.json()
        assert error["code"] == "bad_dump" and error["line"] is None
        assert error["error"] == f"the input is {len(data):,} bytes; the limit is 100,000"
    assert HostReport.objects.count() == 0


@pytest.mark.django_db
def test_the_form_accepts_a_dump_above_the_core_default_when_the_setting_allows_it(
    member_client, raised, over_default
):
    services.feature_sync()
    response = member_client.post(
        "/reports/upload/", {"file": SimpleUploadedFile("big.txt", over_default)}
    )
    assert response.status_code == 302, response.content[:500]
    assert HostReport.objects.get().format == "aida64"


@pytest.mark.django_db
def test_the_form_refuses_a_dump_above_the_setting(member_client, settings):
    settings.CPUKB_MAX_UPLOAD_BYTES = 100_000
    data = big_aida64(150_000)
    response = member_client.post("/reports/upload/", {"file": SimpleUploadedFile("b.txt", data)})
    assert response.status_code == 400
    assert f"The file is {len(data):,} bytes; the limit is 100,000." in response.content.decode()
    assert HostReport.objects.count() == 0


def test_decode_dump_passes_the_setting(tmp_path, raised, over_default, capsys):
    path = tmp_path / "big.txt"
    path.write_bytes(over_default)
    call_command("decode_dump", str(path), "--json")
    assert json.loads(capsys.readouterr().out)["format"] == "aida64"


def test_decode_dump_refuses_above_the_setting(tmp_path, settings, capsys):
    settings.CPUKB_MAX_UPLOAD_BYTES = 100_000
    path = tmp_path / "big.txt"
    path.write_bytes(big_aida64(150_000))
    with pytest.raises(SystemExit):
        call_command("decode_dump", str(path))
    assert "the limit is 100,000" in capsys.readouterr().err
