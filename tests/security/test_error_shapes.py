"""Issue 19: every API error, including a 500, answers in the documented JSON shape
(``{"error", "code", "detail"}``); hostile but well-formed requests (deeply nested JSON, NUL
bytes and lone surrogates in host references, URL paths and query strings, a matrix run whose
report was deleted) answer 400 or 404, never 500, as JSON under /api/ and as a page elsewhere."""

import json

import pytest
from django.test import Client
from django.urls import path

from cpus.models import HostReport

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 50_000 + "1" + "}" * 50_000


def _assert_error_shape(response, statuses=(400, 404)):
    assert response.status_code in statuses, (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["code"], str) and body["code"]
    assert "detail" in body
    return body


@pytest.mark.parametrize(
    "url",
    [
        "/api/reports/",
        "/api/compat/check",
        "/api/pools/baseline",
        "/api/vms/preflight",
        "/api/pools/plan",
        "/api/migrations/",
        "/api/matrix-runs/",
        "/api/hosts/",
        "/api/migrations/explain-error",
    ],  # fmt: skip
)
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT], ids=["arrays", "objects"])
def test_deeply_nested_json_is_a_400_in_the_error_shape(api, url, body):
    response = api.post(url, body, content_type="application/json")
    error = _assert_error_shape(response, (400,))
    if response.status_code == 400:
        assert "nested" in error["error"] or "JSON" in error["error"]


HOSTILE_STRINGS = {"nul": "harper\x00town", "surrogate": "harper\udcfftown"}


@pytest.mark.parametrize("value", HOSTILE_STRINGS.values(), ids=HOSTILE_STRINGS)
def test_hostile_host_references_are_400_or_404(api, some_hosts, value):
    for url, body in [
        ("/api/compat/check", {"source": {"host": value}, "destination": {"host": some_hosts[0]}}),
        ("/api/pools/baseline", {"hosts": [{"host": value}, {"host": some_hosts[0]}]}),
        (
            "/api/migrations/",
            {
                "source": {"host": value},
                "destination": {"host": some_hosts[0]},
                "hypervisor": "kvm",
                "outcome": "succeeded",
            },
        ),  # fmt: skip
        ("/api/matrix-runs/", {"hosts": [value], "guest_cpu": "host-passthrough"}),
        ("/api/matrix-runs/", {"tag": value}),
        ("/api/compat/check", {"source": {"raw": value}, "destination": {"host": some_hosts[0]}}),
        ("/api/reports/", {"raw": "processor\t: 0\n", "host_name": value}),
        ("/api/hosts/", {"name": value}),
        ("/api/migrations/explain-error", {"message": value}),
    ]:
        payload = json.dumps(body)  # escapes the surrogate as \\udcff: valid JSON text
        response = api.post(url, payload, content_type="application/json")
        if response.status_code < 300:
            continue  # accepted as a plain string (the explainer, a host name...): fine
        _assert_error_shape(response, (400, 404))


@pytest.mark.parametrize(
    "value", ["%00", "%ED%A0%80", "%FF", "a%00b"], ids=["nul", "surr", "ff", "mid"]
)
@pytest.mark.parametrize(
    "url",
    [
        "/api/cpu-models/?q={v}",
        "/api/cpu-models/?vendor={v}",
        "/api/cpu-models/?has_feature={v}",
        "/api/reports/?format={v}",
        "/api/hosts/?q={v}",
        "/api/hosts/?tag={v}",
        "/api/features/?q={v}",
        "/api/guest-models/?q={v}",
        "/api/migrations/?source_vendor={v}",
        "/api/cpu-models/?limit={v}",
        "/api/features/{v}/",
        "/api/hosts/{v}/",
        "/api/matrix-runs/1/cell?source={v}&destination=1",
    ],  # fmt: skip
)
def test_hostile_query_strings_and_paths_under_api_answer_json(client, some_hosts, url, value):
    response = client.get(url.format(v=value))
    if response.status_code == 200:
        assert response["Content-Type"].startswith("application/json")
        return
    _assert_error_shape(response, (400, 404))


@pytest.mark.parametrize("value", ["%00", "%ED%A0%80", "%FF"], ids=["nul", "surr", "ff"])
@pytest.mark.parametrize(
    "url",
    [
        "/cpus/?q={v}",
        "/cpus/?vendor={v}",
        "/hosts/?q={v}",
        "/hosts/?tag={v}",
        "/features/?q={v}",
        "/features/{v}/",
        "/guest-models/?q={v}",
        "/compat/?tag={v}",
        "/compat/pair/?source={v}",
        "/ledger/?source_vendor={v}",
        "/reports/?format={v}",
    ],  # fmt: skip
)
def test_hostile_query_strings_and_paths_on_pages_are_not_500(client, some_hosts, url, value):
    response = client.get(url.format(v=value))
    assert response.status_code in (200, 400, 404), response.status_code


def test_html_forms_with_nul_bytes_are_not_500(client, some_hosts, token_user):
    client.force_login(token_user)
    for url, data in [
        ("/reports/upload/", {"raw": "processor\t: 0\n", "host_name": "a\x00b"}),
        ("/compat/runs/", {"tag": "a\x00b"}),
        ("/ledger/record/", {"source_host": "a\x00b", "destination_host": "b"}),
    ]:
        response = client.post(url, data)
        assert response.status_code in (200, 302, 400, 404), (url, response.status_code)


# --- 500s themselves ------------------------------------------------------------------------


def _boom(request):
    raise RuntimeError("an unexpected bug")


urlpatterns = [path("api/test-boom/", _boom), path("test-boom/", _boom)]


@pytest.fixture
def boom_urls(settings):
    import sys
    import types

    from kbsite import urls as site_urls

    module = types.ModuleType("boom_urls")
    module.urlpatterns = [*urlpatterns, *site_urls.urlpatterns]
    for name in ("handler400", "handler404", "handler500"):
        if hasattr(site_urls, name):
            setattr(module, name, getattr(site_urls, name))
    sys.modules["boom_urls"] = module
    settings.ROOT_URLCONF = "boom_urls"
    yield
    del sys.modules["boom_urls"]


def test_a_500_under_api_is_json_in_the_error_shape(boom_urls):
    response = Client(raise_request_exception=False).get("/api/test-boom/")
    body = _assert_error_shape(response, (500,))
    assert body["code"] == "server_error"
    assert "unexpected bug" not in json.dumps(body)  # no internals leak


def test_a_500_on_a_page_is_a_page(boom_urls):
    response = Client(raise_request_exception=False).get("/test-boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


def test_a_matrix_run_whose_report_was_deleted_is_not_a_500(api, some_hosts):
    from cpus.compat import runs as matrix_runs
    from cpus.models import Host

    run = matrix_runs.matrix_run_create(
        selection={"tag": "demo-2008"}, guest_cpu="host-passthrough", user=api.user
    )
    run.refresh_from_db()
    host_id = run.host_ids[0]
    report_ids = list(HostReport.objects.filter(host_id=host_id).values_list("id", flat=True))
    host = Host.objects.get(pk=host_id)
    host.current_report = None
    host.save()
    HostReport.objects.filter(pk__in=report_ids).delete()
    for url in [
        f"/api/matrix-runs/{run.pk}/",
        f"/api/matrix-runs/{run.pk}/results?hypervisor=kvm",
        f"/api/matrix-runs/{run.pk}/cell?hypervisor=kvm&source={host_id}&destination={host_id}",
    ]:
        response = api.get(url)
        assert response.status_code in (200, 400, 404), (url, response.status_code)
        if response.status_code >= 400:
            _assert_error_shape(response)
    page = api.get(f"/compat/runs/{run.pk}/")
    assert page.status_code in (200, 404)


HUGE = "9" * 30


@pytest.mark.parametrize(
    "url",
    [
        f"/api/reports/?cpu_model={HUGE}",
        f"/api/cpu-models/?family={HUGE}",
        "/api/cpu-models/?family=1e400",
        f"/api/hosts/{HUGE}/",
        f"/api/cpu-models/{HUGE}/",
        f"/api/migrations/?host={HUGE}",
        f"/api/matrix-runs/{HUGE}/",
        f"/api/cpu-models/?limit={HUGE}&offset={HUGE}",
        f"/cpus/compare/?a={HUGE}&b=1",
        f"/cpus/{HUGE}/",
        f"/hosts/{HUGE}/",
        f"/reports/{HUGE}/",
        f"/compat/runs/{HUGE}/",
        f"/compat/?hosts={HUGE}",
        f"/ledger/{HUGE}/",
        f"/ledger/?host={HUGE}",
        f"/compat/pair/?source={HUGE}&destination=1",
    ],  # fmt: skip
)
def test_numbers_out_of_range_are_not_500(client, some_hosts, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    if url.startswith("/api/") and response.status_code != 200:
        _assert_error_shape(response)


# --- The core's and the services' errors: one mapping (kbsite/api_errors.py API_ERRORS) ----

BAD_DUMP = "not a dump at all\n"
TOO_LONG = "\u20ac" * 25_000  # 75,000 bytes: under the serializer's 65,536 characters


def _core_error_cases(hosts: list[str], cpu_model_id: int, host_id: int):
    harpertown, barcelona = hosts[0], hosts[1]
    ref, other = {"host": harpertown}, {"host": barcelona}
    vm_qemu = "qemu-system-x86_64 -enable-kvm -cpu host -m 1024"
    record = {
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2008-11-05",
    }
    # (url, body, status, code, field, has_line)
    return [
        ("/api/compat/check", {"source": {"raw": BAD_DUMP}, "destination": other},
         400, "bad_dump", None, True),
        ("/api/compat/check", {"source": {"host": "no-such-host"}, "destination": other},
         404, "not_found", "source", False),
        ("/api/compat/check", {"source": {"report": "7"}, "destination": other},
         400, "bad_reference", "source", False),
        ("/api/compat/check", {"source": ref, "destination": other, "guest_cpu": "Pentium9000"},
         400, "bad_guest_cpu", "guest_cpu", False),
        ("/api/pools/baseline", {"hosts": [ref, {"raw": BAD_DUMP}]},
         400, "bad_dump", None, True),
        ("/api/pools/baseline", {"hosts": [{"host": "no-such-host"}, ref]},
         404, "not_found", "hosts[0]", False),
        ("/api/pools/baseline", {"tag": "no-such-tag"}, 400, "invalid", "tag", False),
        ("/api/vms/preflight", {"vm": "<domain><cpu mode='warp'/>", "pool": "demo-2008"},
         400, "bad_vm", "vm", False),
        ("/api/vms/preflight", {"vm": vm_qemu, "source": {"host": "no-such"}, "pool": "demo-2008"},
         404, "not_found", "source", False),
        ("/api/vms/preflight", {"vm": vm_qemu, "pool": "demo-2008"},
         400, "bad_preflight", None, False),
        ("/api/vms/preflight", {"vm": vm_qemu, "pool": "no-such-pool"},
         400, "invalid", "pool", False),
        ("/api/pools/plan", {"pool": "demo-2008", "retire": ["no-such-host"]},
         400, "bad_plan", None, False),
        ("/api/pools/plan", {"pool": "demo-2008", "add": [{"cpu_model": 2**31 - 1}]},
         404, "not_found", "add[0]", False),
        ("/api/pools/plan", {"hosts": [{"raw": BAD_DUMP}]}, 400, "bad_dump", None, True),
        ("/api/migrations/", {**record, "source": {"raw": BAD_DUMP}, "destination": other},
         400, "bad_dump", None, True),
        # A record naming nothing has always been an invalid record (400), not a 404.
        ("/api/migrations/", {**record, "source": {"host": 2**31 - 1}, "destination": other},
         400, "bad_reference", "source", False),
        ("/api/migrations/", {**record, "guest_cpu": "Pentium9000", "source": ref,
                              "destination": other},
         400, "bad_record", "guest_cpu", False),
        ("/api/migrations/explain-error", {"message": TOO_LONG},
         400, "message_too_long", "message", False),
        ("/api/matrix-runs/", {"hosts": [host_id], "guest_cpu": "Pentium9000"},
         400, "bad_guest_cpu", "guest_cpu", False),
        ("/api/matrix-runs/", {"hosts": [2**31 - 1]}, 400, "bad_pool", "hosts", False),
        ("/api/matrix-runs/", {"tag": "no-such-tag"}, 400, "bad_pool", "hosts", False),
        ("/api/reports/", {"raw": BAD_DUMP}, 400, "bad_dump", None, True),
    ]  # fmt: skip


def test_every_core_error_of_every_endpoint_has_the_one_shape(api, some_hosts):
    from cpus.models import CpuModel, Host

    host_id = Host.objects.get(name=some_hosts[0]).pk
    cases = _core_error_cases(some_hosts, CpuModel.objects.first().pk, host_id)
    urls = {case[0] for case in cases}
    assert len(urls) == 8  # every API endpoint that takes hosts, dumps, VMs or guest CPUs
    for url, body, status, code, field, has_line in cases:
        response = api.post(url, json.dumps(body), content_type="application/json")
        error = _assert_error_shape(response, (status,))
        assert error["code"] == code, (url, body, error)
        assert error.get("field") == field, (url, body, error)
        assert ("line" in error) == has_line, (url, error)
        if has_line:  # a decode error: its reason, and where
            assert error["line"] == 1 and error["error"] in error["detail"]
            assert error["detail"].startswith("line 1: ")
        if code == "bad_vm":
            assert isinstance(error["issues"], list)  # each unreadable setting, if any


def test_a_deleted_report_of_a_matrix_run_is_a_404_in_the_one_shape(api, some_hosts):
    from cpus.compat import runs as matrix_runs
    from cpus.models import Host

    run = matrix_runs.matrix_run_create(
        selection={"tag": "demo-2008"}, guest_cpu="host-passthrough", user=api.user
    )
    run.refresh_from_db()
    matrix_runs.matrix_run_prepare(run)  # as the worker's first task does
    run.refresh_from_db()
    source, destination = run.host_ids[0], run.host_ids[1]
    host = Host.objects.get(pk=source)
    report_id = host.current_report_id
    host.current_report = None
    host.save()
    HostReport.objects.filter(pk=report_id).delete()
    response = api.get(
        f"/api/matrix-runs/{run.pk}/cell?hypervisor=kvm&source={source}&destination={destination}"
    )
    error = _assert_error_shape(response, (404,))
    assert error["code"] == "run_data_gone" and "deleted" in error["error"]


def test_the_mapping_picks_the_most_specific_class():
    from cpus.compat.runs import PoolError, RunDataGone
    from kbsite.api_errors import api_error_of

    assert api_error_of(RunDataGone("gone"))[:2] == (404, "run_data_gone")
    assert api_error_of(PoolError("empty"))[:2] == (400, "bad_pool")
    assert api_error_of(ValueError("a bug")) is None  # not a refusal: a 500, never a 400
