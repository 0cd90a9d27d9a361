"""Issue 19: a run's heatmap page is bounded (a 400-class run rendered 47 MB): it shows a
window of at most HEATMAP_WINDOW x HEATMAP_WINDOW cells per hypervisor, links to the
neighbouring windows and to the whole result in the API."""

import re

import pytest

from cpus import services
from cpus.compat import runs as matrix_runs
from cpus.compat import views as compat_views
from cpus.cpuid import compat
from cpus.models import Host, MatrixRun

from .conftest import SEED

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_run(db):
    import json

    services.feature_sync()
    for entry in json.loads((SEED / "catalog.json").read_text())["hosts"]:
        raw = (SEED / "dumps" / entry["file"]).read_bytes()
        services.report_ingest(raw=raw, host_name=entry["host"], tags=("pool",))
    run = matrix_runs.matrix_run_create(selection={"tag": "pool"}, guest_cpu="host-passthrough")
    for index in matrix_runs.matrix_run_prepare(run):
        matrix_runs.matrix_run_tile(run, index)
    run.refresh_from_db()
    assert run.status == MatrixRun.Status.SUCCEEDED
    return run


def _cells(page: str) -> int:
    return len(re.findall(r'<td class="cell ', page))


def test_a_small_run_shows_every_cell(client, finished_run):
    hosts = len(finished_run.host_ids)
    assert hosts == Host.objects.count() > 10
    page = client.get(f"/compat/runs/{finished_run.pk}/").content.decode()
    assert _cells(page) == hosts * hosts * len(compat.HYPERVISORS)
    assert "heatmap-window" not in page


def test_a_large_run_shows_one_bounded_window_with_links(client, finished_run, monkeypatch):
    monkeypatch.setattr(compat_views, "HEATMAP_WINDOW", 5)
    hosts = len(finished_run.host_ids)
    url = f"/compat/runs/{finished_run.pk}/"
    page = client.get(url).content.decode()
    assert _cells(page) == 5 * 5 * len(compat.HYPERVISORS)
    assert f"1&ndash;5 (rows) by 1&ndash;5 (columns) of {hosts}" in page
    assert "row=5&amp;col=0" in page and "row=0&amp;col=5" in page
    assert f"/api/matrix-runs/{finished_run.pk}/results" in page
    # The next window of rows holds the next hosts as row labels, the first window does not.
    second = client.get(url + "?row=5&col=5").content.decode()
    assert _cells(second) == 25 * len(compat.HYPERVISORS)
    sixth_host = finished_run.host_labels[5]
    row_label = f'<th class="row" scope="row" title="{sixth_host}">{sixth_host}</th>'
    assert row_label in second
    assert row_label not in page
    # Offsets out of range or not numbers land on a valid window.
    last = client.get(url + f"?row={10**12}&col=-3").content.decode()
    assert 0 < _cells(last) <= 25 * len(compat.HYPERVISORS)
