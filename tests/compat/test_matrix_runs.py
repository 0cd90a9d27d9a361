"""Matrix runs: tiles on real Celery workers, results equal to the engine, crash recovery."""

import datetime
import os
import signal

import numpy as np
import pytest

from cpus import selectors, services
from cpus.compat import runs as matrix_runs
from cpus.cpuid import compat, matrix
from cpus.models import Host, MatrixRun, MatrixTile
from tests.samples import DUMPS

NOT_REPORTS = {
    "README.md",
    "thismachine_kvm_EPYC-Milan_cpuid-1_decoded.txt",
    "thismachine_qemu7.2_qmp_query-cpu-definitions.jsonl",
}


def load_pool() -> list[Host]:
    for path in DUMPS.iterdir():
        if path.name not in NOT_REPORTS:
            services.report_ingest(raw=path.read_bytes(), host_name=path.stem[:100], tags=("pool",))
    return list(Host.objects.filter(tags__name="pool").order_by("name", "id"))


def expected_levels(run: MatrixRun, hypervisor: str) -> np.ndarray:
    hosts = {
        h.pk: h
        for h in Host.objects.select_related("current_report__feature_set", "current_report__host")
    }
    views = [selectors.report_host_view(hosts[pk].current_report) for pk in run.host_ids]
    return matrix.compute(views, run.guest_cpu, hypervisor).levels


def host_levels(run: MatrixRun, hypervisor: str) -> np.ndarray:
    levels, _ = matrix_runs.run_levels(run, hypervisor)
    members = matrix_runs.members_of(run)
    return levels[np.ix_(members, members)]


@pytest.mark.django_db
def test_tiles_computed_in_process_equal_the_engine(settings):
    settings.CPUKB_MATRIX_TILE_PAIRS = 50
    load_pool()
    run = MatrixRun.objects.create(
        selection={"tag": "pool"},
        guest_cpu="baseline",
        host_ids=list(Host.objects.values_list("pk", flat=True)),
    )
    run.host_labels = [str(pk) for pk in run.host_ids]
    run.save()
    tiles = matrix_runs.matrix_run_prepare(run)
    assert len(tiles) > 5 and run.class_count < len(run.host_ids)
    for index in tiles:
        matrix_runs.matrix_run_tile(run, index)
    matrix_runs.matrix_run_tile(run, tiles[0])  # a redelivered tile changes nothing
    run.refresh_from_db()
    assert run.status == "succeeded" and MatrixTile.objects.filter(run=run).count() == len(tiles)
    for hypervisor in compat.HYPERVISORS:
        assert np.array_equal(host_levels(run, hypervisor), expected_levels(run, hypervisor)), (
            hypervisor
        )


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_2008_pool_to_success(worker_process, wait_for, member_client):
    for name, file in [
        ("xeon-e5462", "aida64_XeonE5462_Harpertown_2S_libcpuid.txt"),
        ("opteron-2350", "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml"),
        ("opteron-2378", "aida64_Opteron2378_Shanghai_2S_libcpuid.txt"),
    ]:
        services.report_ingest(raw=(DUMPS / file).read_bytes(), host_name=name, tags=("demo",))
    worker_process()
    response = member_client.post(
        "/api/matrix-runs/",
        {"tag": "demo", "guest_cpu": "baseline"},
        content_type="application/json",
    )
    assert response.status_code == 202
    run_id = response.json()["id"]
    body = wait_for(
        lambda: (
            (r := member_client.get(f"/api/matrix-runs/{run_id}").json())["status"] == "succeeded"
            and r
        )
    )
    assert body["progress"] == {"done": 1, "total": 1, "percent": 100}
    results = member_client.get(f"/api/matrix-runs/{run_id}/results?hypervisor=kvm").json()
    assert all(
        level != compat.LEVELS.index("blocked")
        for row in results["rows"]
        for level in row["verdicts"]
    )
    vmware = member_client.get(f"/api/matrix-runs/{run_id}/results?hypervisor=vmware").json()
    intel = next(row for row in vmware["rows"] if row["hosts"][0]["name"] == "xeon-e5462")
    assert (
        sorted(intel["verdicts"]).count(compat.LEVELS.index("blocked")) == 2
    )  # VMware: never across vendors
    harpertown = Host.objects.get(name="xeon-e5462").pk
    shanghai = Host.objects.get(name="opteron-2378").pk
    cell = member_client.get(
        f"/api/matrix-runs/{run_id}/cell?source={harpertown}&destination={shanghai}"
    ).json()
    assert cell["verdict"] in ("safe-with-model", "risky") and cell["reasons"]


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_loses_nothing_and_duplicates_nothing(worker_process, wait_for):
    hosts = load_pool()
    first = worker_process(tile_pairs=40)
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"}, guest_cpu="baseline")
    wait_for(lambda: MatrixRun.objects.get(pk=run.pk).tiles_done >= 2, interval=0.01)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    run.refresh_from_db()
    assert run.status == "running" and run.tiles_done < run.tiles_total, (
        "the worker must die mid-run"
    )

    worker_process(tile_pairs=40)
    # What the periodic sweeper does for a run without progress: enqueue its missing tiles.
    resumed = matrix_runs.matrix_run_sweep(stale_after=datetime.timedelta(0))
    assert resumed == {"resumed": [run.pk], "failed": [], "finished": []}
    wait_for(lambda: MatrixRun.objects.get(pk=run.pk).status == "succeeded")
    run.refresh_from_db()
    indexes = list(MatrixTile.objects.filter(run=run).values_list("index", flat=True))
    assert sorted(indexes) == list(range(run.tiles_total)) and run.tiles_done == run.tiles_total
    assert len(run.host_ids) == len(hosts)
    for hypervisor in compat.HYPERVISORS:
        assert np.array_equal(host_levels(run, hypervisor), expected_levels(run, hypervisor)), (
            hypervisor
        )


@pytest.mark.django_db
def test_sweeper_fails_runs_that_never_progress():
    load_pool()
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"})
    MatrixRun.objects.filter(pk=run.pk).update(attempts=matrix_runs.MAX_ATTEMPTS)
    result = matrix_runs.matrix_run_sweep(stale_after=datetime.timedelta(0))
    assert result == {"resumed": [], "failed": [run.pk], "finished": []}
    run.refresh_from_db()
    assert run.status == "failed" and "no progress" in run.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tag": "nope"}, "hosts"),
        ({"hosts": [999999]}, "hosts"),
        ({"tag": "pool", "guest_cpu": "Zen9"}, "guest_cpu"),
        ({}, None),
        ({"tag": "pool", "all": True}, None),
    ],
)
def test_bad_matrix_requests_are_400(member_client, body, field):
    load_pool()
    response = member_client.post("/api/matrix-runs/", body, content_type="application/json")
    assert response.status_code == 400
    if field:
        assert response.json()["field"] == field
    assert MatrixRun.objects.count() == 0
