"""Redis (the Celery broker) stops while people upload reports and start matrix runs.

Ingest never needs the broker; a matrix run asked for while it is down is accepted as pending
(its enqueue is a robust on_commit hook) and finished by the sweeper and a real worker once Redis
is back; /healthz?full=1 names the broker meanwhile. Nothing is ever half-written.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cpus.models import CpuModel, FeatureSet, Host, HostReport, MatrixRun
from tests.samples import DUMPS

# Reports of CPUs outside the demo pool: each upload creates a report, a host and a CPU model.
UPLOADS = (
    "aida64_Opteron2431_Istanbul_2S_libcpuid.txt",
    "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt",
    "thismachine_kvm_EPYC-Milan_cpuid-r.txt",
)

pytestmark = [pytest.mark.faults, pytest.mark.redis, pytest.mark.subprocess]


def counts() -> tuple[int, int, int, int, int]:
    return (
        HostReport.objects.count(),
        FeatureSet.objects.count(),
        CpuModel.objects.count(),
        Host.objects.count(),
        MatrixRun.objects.count(),
    )


def wait_for(condition, timeout: float = 90.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s")


def assert_stored_completely(body: dict, host_name: str) -> None:
    report = HostReport.objects.select_related("feature_set", "cpu_model").get(pk=body["id"])
    assert report.feature_set_id and report.cpu_model_id and report.sha256
    host = Host.objects.get(name=host_name)
    assert host.current_report_id == report.pk


@pytest.mark.django_db(transaction=True)
def test_with_redis_down_uploads_work_and_runs_wait_until_it_is_back(
    demo_pool, token, redis_outage, worker_process, run_isolated
):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    with redis_outage():
        full = api.get("/healthz?full=1")
        assert full.status_code == 503
        components = full.json()["components"]
        assert components["database"]["status"] == "ok"
        assert components["broker"]["status"] == "error"
        assert components["broker"]["detail"], "the broker's error is named"
        assert components["workers"]["status"] == "error"
        assert api.get("/healthz").status_code == 200, "the plain check needs only the database"

        # Ingest never touches the broker: every upload is stored whole, or refused whole.
        for name in UPLOADS:
            before = counts()
            response = api.post(
                "/api/reports/",
                {"file": SimpleUploadedFile(name, (DUMPS / name).read_bytes()), "host_name": name},
                format="multipart",
            )
            assert response.status_code == 201, response.content[:300]
            assert_stored_completely(response.json(), name)
            assert counts()[0] == before[0] + 1 and counts()[3] == before[3] + 1
        before = counts()
        refused = api.post("/api/reports/", {"raw": "CPUID 00000000: 0000000A\n"}, format="json")
        assert refused.status_code == 400
        assert counts() == before

        # A matrix run is accepted and stays pending: the enqueue fails quietly (robust).
        started = time.monotonic()
        response = api.post(
            "/api/matrix-runs/", {"tag": "demo-2008", "guest_cpu": "baseline"}, format="json"
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 202, response.content[:300]
        body = response.json()
        assert body["status"] == "pending"
        # Up to ~20 s in a process whose first enqueue this is: see the test below.
        assert elapsed < 45, f"accepting a run with the broker down took {elapsed:.1f}s"
        run_id = body["id"]
        assert MatrixRun.objects.get(pk=run_id).status == "pending"
        assert api.get(f"/api/matrix-runs/{run_id}/").json()["status"] == "pending"

    # Redis is back: nothing re-enqueued the run by itself.
    assert MatrixRun.objects.get(pk=run_id).status == "pending"
    worker = worker_process()
    # What the periodic sweeper (celery beat, every minute) does for a run without progress.
    # It runs in a process on the worker's own Redis database (see tests/faults/conftest.py).
    swept = run_isolated(
        "import datetime\nfrom cpus.compat.runs import matrix_run_sweep\n"
        "print(json.dumps(matrix_run_sweep(stale_after=datetime.timedelta(0))))"
    )
    assert swept == {"resumed": [run_id], "failed": [], "finished": []}

    def finished():
        if worker.poll() is not None:
            raise AssertionError(f"the worker died: {worker.log_path.read_text()[-3000:]}")
        return MatrixRun.objects.get(pk=run_id).status in ("succeeded", "failed")

    try:
        wait_for(finished)
    except AssertionError as error:
        raise AssertionError(
            f"{error}; worker log: {worker.log_path.read_text()[-3000:]}"
        ) from None
    run = MatrixRun.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    assert run.tiles_total > 0 and run.tiles_done == run.tiles_total
    detail = api.get(f"/api/matrix-runs/{run_id}/").json()
    assert detail["status"] == "succeeded" and detail["progress"]["percent"] == 100
    assert api.get(f"/api/matrix-runs/{run_id}/results/").status_code == 200

    # And the full health check is green again once the worker answers its ping.
    health = run_isolated(
        "from django.test import Client\nresponse = Client().get('/healthz?full=1')\n"
        "print(json.dumps([response.status_code, response.json()]))"
    )
    assert health[0] == 200, health


# Run in a fresh process, like a gunicorn worker started (or recycled) during the outage.
COLD_ENQUEUE = """
import time, django
django.setup()
from cpus.compat.tasks import matrix_run_prepare
started = time.monotonic()
try:
    matrix_run_prepare.delay(0)
except Exception as error:
    print(type(error).__name__)
print(round(time.monotonic() - started, 2))
"""


def test_a_fresh_process_gives_up_enqueueing_quickly_with_redis_down(redis_outage):
    with redis_outage():
        completed = subprocess.run(
            [sys.executable, "-c", COLD_ENQUEUE],
            cwd=Path(__file__).resolve().parents[2],
            env={**os.environ, "LOG_LEVEL": "CRITICAL"},
            capture_output=True,
            text=True,
            timeout=120,
        )
    seconds = float(completed.stdout.split()[-1])
    assert seconds < 5, f"{seconds}s to give up: {completed.stdout} {completed.stderr[-500:]}"
