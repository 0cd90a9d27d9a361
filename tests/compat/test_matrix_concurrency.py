"""Issue 19: matrix runs with more than one worker process, dead workers, deleted hosts.

- Completion is derived from the stored tiles under the run's row lock: two worker processes
  over many small tiles always end "succeeded" with every tile counted (the bug: each counted
  one short, the run stayed "running" and the sweeper then failed it).
- The sweeper finishes a run whose tiles are all stored; it never fails it.
- A host deleted before the run is prepared is skipped and named in the run's notes.
- A report deleted after the run was prepared: the cell API answers 404, not 500.
"""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from cpus.compat import runs as matrix_runs
from cpus.compat import tasks
from cpus.models import Host, HostReport, MatrixRun, MatrixTile

from .test_matrix_runs import load_pool


@pytest.mark.django_db(transaction=True)
def test_two_worker_processes_always_finish_the_run(worker_process, wait_for):
    load_pool()
    # One source class per tile: many tiles finishing at the same moment on two processes.
    worker_process(tile_pairs=1)
    worker_process(tile_pairs=1)
    for attempt in range(5):
        run = matrix_runs.matrix_run_create(selection={"tag": "pool"}, guest_cpu="baseline")
        finished = wait_for(
            lambda pk=run.pk: MatrixRun.objects.filter(
                pk=pk, status__in=["succeeded", "failed"]
            ).first(),
            timeout=180,
        )
        assert finished.status == "succeeded", (attempt, finished.error)
        assert finished.tiles_total > 10 and finished.tiles_done == finished.tiles_total
        assert MatrixTile.objects.filter(run=finished).count() == finished.tiles_total


def _prepared_and_computed(tile_pairs_settings) -> MatrixRun:
    tile_pairs_settings.CPUKB_MATRIX_TILE_PAIRS = 50
    load_pool()
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"}, guest_cpu="baseline")
    for index in matrix_runs.matrix_run_prepare(run):
        matrix_runs.matrix_run_tile(run, index)
    run.refresh_from_db()
    assert run.status == "succeeded" and run.tiles_total > 1
    return run


@pytest.mark.django_db
def test_the_sweeper_finishes_a_run_whose_tiles_are_all_stored(settings):
    run = _prepared_and_computed(settings)
    # As the miscount left it: every tile stored, the run "running", one short, idle, and out
    # of resumptions.
    stale = timezone.now() - datetime.timedelta(hours=1)
    MatrixRun.objects.filter(pk=run.pk).update(
        status="running",
        tiles_done=run.tiles_total - 1,
        finished_at=None,
        heartbeat=stale,
        attempts=matrix_runs.MAX_ATTEMPTS,
    )
    result = matrix_runs.matrix_run_sweep(stale_after=datetime.timedelta(minutes=2))
    assert result == {"resumed": [], "failed": [], "finished": [run.pk]}
    run.refresh_from_db()
    assert run.status == "succeeded" and run.tiles_done == run.tiles_total and run.finished_at
    assert not run.error


@pytest.mark.django_db
def test_failing_a_complete_run_finishes_it_instead(settings):
    run = _prepared_and_computed(settings)
    MatrixRun.objects.filter(pk=run.pk).update(status="running", finished_at=None)
    matrix_runs.matrix_run_fail(run, "tile 3: a late error")
    run.refresh_from_db()
    assert run.status == "succeeded" and not run.error


@pytest.mark.django_db
def test_a_host_deleted_before_the_run_is_prepared_is_skipped_and_named(settings):
    settings.CPUKB_MATRIX_TILE_PAIRS = 50
    hosts = load_pool()
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"}, guest_cpu="baseline")
    gone, emptied = hosts[0], hosts[1]
    gone.delete()
    Host.objects.filter(pk=emptied.pk).update(current_report=None)
    tasks.matrix_run_prepare.apply(args=[run.pk])  # the task, in this process
    for index in range(MatrixRun.objects.get(pk=run.pk).tiles_total):
        tasks.matrix_run_tile.apply(args=[run.pk, index])
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert gone.pk not in run.host_ids and emptied.pk not in run.host_ids
    assert len(run.host_ids) == len(hosts) - 2 == len(run.host_labels)
    assert gone.name in run.notes and emptied.name in run.notes and "2 host(s)" in run.notes


@pytest.mark.django_db
def test_a_run_whose_hosts_are_all_gone_fails_with_a_reason():
    load_pool()
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"})
    Host.objects.all().delete()
    with pytest.raises(matrix_runs.PoolError):
        tasks.matrix_run_prepare.apply(args=[run.pk], throw=True)
    run.refresh_from_db()
    assert run.status == "failed" and "every host of the pool was deleted" in run.error


@pytest.mark.django_db
def test_a_report_deleted_after_the_run_answers_404_not_500(settings, client):
    run = _prepared_and_computed(settings)
    report_id = run.class_reports[0]
    HostReport.objects.filter(pk=report_id).update(host=None)
    Host.objects.filter(current_report_id=report_id).update(current_report=None)
    HostReport.objects.filter(pk=report_id).delete()
    host = run.host_ids[0]
    response = client.get(
        f"/api/matrix-runs/{run.pk}/cell?hypervisor=kvm&source={host}&destination={host}"
    )
    assert response.status_code == 404
    assert "deleted" in response.json()["error"]
    # The stored results and the page still answer.
    assert client.get(f"/api/matrix-runs/{run.pk}/results?hypervisor=kvm").status_code == 200
    assert client.get(f"/compat/runs/{run.pk}/").status_code == 200


def test_a_dead_workers_tasks_come_back_within_minutes():
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] <= 300
    from kbsite.celery import app

    assert app.conf.beat_schedule["sweep-matrix-runs"]["schedule"] <= 60
    assert datetime.timedelta(minutes=5) >= matrix_runs.STALE_AFTER
