"""Concurrent writes never 500 and never lose a distinct upload or record.

Real parallel clients: pytest-django's ``live_server`` (a threaded WSGI server, one PostgreSQL
connection per request thread) and 20 client threads released together by a barrier.

The distinct dumps are DERIVED from two real ones (tests/dumps/libcpuidraw_XeonE5420_Harpertown.txt
and libcpuidraw_EPYC7551P_Naples.txt) by changing only the initial APIC ID, CPUID leaf 1 EBX bits
31-24: the value that really differs from one core of a machine to the next.  Every derived dump
of one base has the same feature set and CPU model, so the parallel uploads collide on every
unique key the ingest writes (feature set digest, CPU model identity, host, tag) while each
still has its own sha256."""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from cpus import services
from cpus.models import CpuModel, FeatureSet, Host, HostReport, PoolTag
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

# Plain transactional tests: each creates what it needs (features, accounts; the catalog account
# is created on demand by services.catalog_owner), so nothing has to be restored from the
# serialized database, whose content types can collide with those re-created after an earlier
# transactional test's flush.
pytestmark = pytest.mark.django_db(transaction=True)

BASES = ("libcpuidraw_XeonE5420_Harpertown.txt", "libcpuidraw_EPYC7551P_Naples.txt")
PARALLEL = 20


def derived_dump(base: str, apic_id: int) -> str:
    """A real libcpuid raw dump with the initial APIC ID (leaf 1 EBX[31:24]) set to ``apic_id``."""
    lines = (DUMPS / base).read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        if line.startswith("basic_cpuid[1]="):
            eax, ebx, ecx, edx = line.split("=", 1)[1].split()
            ebx = f"{apic_id:02x}{ebx[2:]}"
            lines[number] = f"basic_cpuid[1]={eax} {ebx} {ecx} {edx}\n"
            return "".join(lines)
    raise AssertionError(f"{base} has no leaf 1")


def distinct_dumps(count: int) -> list[str]:
    dumps = [derived_dump(BASES[i % 2], 0x20 + i) for i in range(count)]
    assert len(set(dumps)) == count
    return dumps


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tokens(django_user_model) -> list[str]:
    services.feature_sync()
    return [
        Token.objects.create(
            user=django_user_model.objects.create_user(f"writer{i}", password="pw-writer-123")
        ).key
        for i in range(2)
    ]


def in_parallel(requests: list) -> list[tuple[int, dict]]:
    """Send every (method, url, token, body) at once (released together by a barrier)."""
    barrier = threading.Barrier(len(requests))

    def send(request):
        method, url, token, body = request
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
        barrier.wait(timeout=30)
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, data=data, headers=headers, method=method), timeout=60
            ) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            try:
                return error.code, json.loads(text)
            except ValueError:
                return error.code, {"text": text[:500]}

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))


def statuses(answers) -> Counter:
    return Counter(status for status, _ in answers)


def test_twenty_parallel_uploads_of_distinct_dumps_give_twenty_reports(live_server, tokens):
    dumps = distinct_dumps(PARALLEL)
    answers = in_parallel(
        [
            ("POST", f"{live_server.url}/api/reports/", tokens[i % 2], {"raw": dump})
            for i, dump in enumerate(dumps)
        ]
    )
    assert statuses(answers) == {201: PARALLEL}, [a for a in answers if a[0] != 201]
    assert HostReport.objects.count() == PARALLEL
    assert len({body["id"] for _, body in answers}) == PARALLEL
    assert FeatureSet.objects.filter(reports__isnull=False).distinct().count() == 2
    assert CpuModel.objects.count() == 2


def test_parallel_uploads_to_one_host_name_keep_every_report(live_server, tokens):
    dumps = distinct_dumps(10)
    answers = in_parallel(
        [
            ("POST", f"{live_server.url}/api/reports/", tokens[0], {"raw": d, "host_name": "n1"})
            for d in dumps
        ]
    )
    assert statuses(answers) == {201: 10}, [a for a in answers if a[0] != 201]
    host = Host.objects.get(name="n1")  # one host, not ten, and none lost
    assert HostReport.objects.count() == 10
    assert host.current_report_id in {body["id"] for _, body in answers}


def test_parallel_uploads_of_the_same_dump_store_one_report_shared_by_every_host(
    live_server, tokens
):
    dump = derived_dump(BASES[0], 0x42)
    answers = in_parallel(
        [
            (
                "POST",
                f"{live_server.url}/api/reports/",
                tokens[i % 2],
                {"raw": dump, "host_name": f"h{i}"},
            )
            for i in range(10)
        ]
    )
    assert statuses(answers) == {201: 1, 200: 9}, answers
    report = HostReport.objects.get()
    assert {body["id"] for _, body in answers} == {report.pk}
    assert Host.objects.filter(current_report=report).count() == 10


def test_twenty_parallel_records_with_inline_dumps_are_all_stored(live_server, tokens):
    destination = services.report_ingest(raw=(DUMPS / BASES[1]).read_bytes(), host_name="dst")[0]
    dumps = distinct_dumps(PARALLEL)
    body = {
        "destination": {"report": destination.pk},
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2024-01-02",
    }
    answers = in_parallel(
        [
            (
                "POST",
                f"{live_server.url}/api/migrations/",
                tokens[i % 2],
                {**body, "source": {"raw": d}},
            )
            for i, d in enumerate(dumps)
        ]
    )
    # An inline dump identical to the destination would be refused (400), so none is.
    assert statuses(answers) == {201: PARALLEL}, [a for a in answers if a[0] != 201]
    assert MigrationRecord.objects.count() == PARALLEL
    assert HostReport.objects.count() == PARALLEL + 1
    assert {r.submitter.username for r in MigrationRecord.objects.all()} == {"writer0", "writer1"}


def test_parallel_host_creation_never_500s(live_server, tokens):
    distinct = [
        (
            "POST",
            f"{live_server.url}/api/hosts/",
            tokens[0],
            {"name": f"node-{i}", "tags": ["rack-a"]},
        )
        for i in range(PARALLEL)
    ]
    answers = in_parallel(distinct)
    assert statuses(answers) == {201: PARALLEL}, [a for a in answers if a[0] != 201]
    assert Host.objects.filter(owner__username="writer0").count() == PARALLEL
    tag = PoolTag.objects.get(name="rack-a")  # one tag for the owner, holding every host
    assert tag.owner.username == "writer0" and tag.hosts.count() == PARALLEL

    same = [
        ("POST", f"{live_server.url}/api/hosts/", tokens[1], {"name": "twin"}) for _ in range(10)
    ]
    answers = in_parallel(same)
    assert statuses(answers) == {201: 1, 400: 9}, answers
    refused = [body for status, body in answers if status == 400]
    assert all(body["field"] == "name" for body in refused)
    assert Host.objects.filter(name="twin").count() == 1
