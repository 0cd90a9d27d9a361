"""Issue 19: a pool baseline over thousands of references took 9-12 s (27 s with report
references, one query each). Now references are capped per request (CPUKB_MAX_POOL_REFS, a
400 naming the limit) and resolved in one query per kind whatever their number."""

import json
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cpus.models import CpuModel, Host, HostReport

pytestmark = pytest.mark.django_db


def _baseline(client, refs):
    return client.post("/api/pools/baseline", json.dumps({"hosts": refs}), "application/json")


def test_more_references_than_the_limit_is_a_400_naming_it(client, some_hosts, settings):
    settings.CPUKB_MAX_POOL_REFS = 1000
    refs = [{"host": some_hosts[i % len(some_hosts)]} for i in range(1001)]
    started = time.perf_counter()
    response = _baseline(client, refs)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "hosts" and body["code"] == "too_many_references"
    assert (
        "at most 1,000 host references" in body["error"] and "CPUKB_MAX_POOL_REFS" in body["error"]
    )
    assert _baseline(client, refs[:1000]).status_code == 200


def test_the_html_pool_refuses_more_hosts_than_the_limit(client, some_hosts, settings):
    settings.CPUKB_MAX_POOL_REFS = 3
    ids = list(Host.objects.values_list("id", flat=True))
    assert len(ids) == 4
    response = client.get("/compat/?" + "&".join(f"hosts={i}" for i in ids))
    assert response.status_code == 400
    assert "At most 3 hosts" in response.content.decode()
    assert client.get("/compat/?" + "&".join(f"hosts={i}" for i in ids[:3])).status_code == 200


@pytest.mark.parametrize("kind", ["host", "report", "cpu_model", "name"])
def test_references_resolve_in_a_constant_number_of_queries(client, some_hosts, kind):
    ids = {
        "host": list(Host.objects.values_list("id", flat=True)),
        "report": list(HostReport.objects.values_list("id", flat=True)),
        "cpu_model": list(CpuModel.objects.values_list("id", flat=True)),
        "name": list(some_hosts),
    }[kind]
    key = "host" if kind == "name" else kind

    def run(count):
        refs = [{key: ids[i % len(ids)]} for i in range(count)]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = _baseline(client, refs)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content[:300]
        return len(queries), elapsed, response.json()

    few_queries, _, few = run(len(ids))
    many_queries, elapsed, many = run(1000)
    assert many_queries == few_queries <= 2
    assert elapsed < 2.0  # generous: about 0.1 s
    assert many["features"] == few["features"]  # the same hosts, repeated: the same baseline


def test_mixed_references_keep_their_errors(client, some_hosts):
    report = HostReport.objects.first()
    response = _baseline(client, [{"report": report.pk}, {"report": 10**9}])
    assert response.status_code == 404 and response.json()["field"] == "hosts[1]"
    response = _baseline(client, [{"cpu_model": "x"}, {"report": report.pk}])
    assert response.status_code == 400 and response.json()["field"] == "hosts[0]"


def test_matrix_run_host_lists_are_bounded_and_ids_in_range(api):
    too_many = api.post("/api/matrix-runs/", {"hosts": list(range(1, 20_002))}, format="json")
    assert too_many.status_code == 400 and too_many.json()["field"] == "hosts"
    huge = api.post("/api/matrix-runs/", {"hosts": [10**30]}, format="json")
    assert huge.status_code == 400 and huge.json()["field"] == "hosts"
