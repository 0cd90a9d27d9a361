"""Issue 14: a host keeps every report; a new one is compared with the previous (drift), the
event names what it affects, and each owner's webhook receives it exactly once.

The "after a microcode update" report is the real Cascade Lake AIDA64 dump with CPUID leaf 7
EBX bits 4 (HLE) and 11 (RTM) cleared in every CPU block: EDITED IN THIS TEST, as Intel's TAA
microcode plus Linux's tsx=off leave it; nothing else is changed.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cpus import services
from cpus.models import DriftEvent, DriftWebhook, Host, MatrixRun, WebhookDelivery
from cpus.tasks import drift_webhook_deliver

CASCADE = "aida64_XeonGold_CascadeLakeSP_libcpuid.txt"
LEAF7 = "CPUID 00000007: 00000000-D39FFFFB-"
LEAF7_NO_TSX = "CPUID 00000007: 00000000-D39FF7EB-"  # EBX & ~(1 << 4 | 1 << 11): no hle, rtm


@pytest.fixture
def cascade(dump_bytes):
    before = dump_bytes(CASCADE).decode()
    assert LEAF7 in before
    after = before.replace(LEAF7, LEAF7_NO_TSX)  # the edit: TSX removed, marked above
    return before, after


@pytest.fixture
def pool(db, django_user_model, cascade):
    """Two Cascade Lake hosts in pool tag ``prod-kvm``, owned by one user."""
    services.feature_sync()
    owner = django_user_model.objects.create_user("ops", password="pw-ops-12345")
    before, _ = cascade
    for name in ("kvm-a", "kvm-b"):
        services.report_ingest(raw=before, host_name=name, uploaded_by=owner, tags=("prod-kvm",))
    return owner


def test_tsx_gone_is_one_drift_event_naming_hle_rtm_and_the_pool(pool, cascade, api):
    _, after = cascade
    run = MatrixRun.objects.create(
        selection={"tag": "prod-kvm"},
        host_ids=list(Host.objects.values_list("pk", flat=True)),
        status=MatrixRun.Status.SUCCEEDED,
    )
    services.report_ingest(raw=after, host_name="kvm-a", uploaded_by=pool)
    (event,) = DriftEvent.objects.all()
    assert event.host.name == "kvm-a"
    assert event.vanished == ["hle", "rtm"] and event.appeared == []
    (affected_pool,) = event.affected["pools"]
    assert affected_pool["tag"] == "prod-kvm"
    assert affected_pool["common_lost"] == ["hle", "rtm"]
    assert event.affected["matrix_runs"] == [run.pk]
    run.refresh_from_db()
    assert run.stale_since is not None
    # the host keeps both reports, newest first
    host = Host.objects.get(name="kvm-a")
    reports = api.get(f"/api/hosts/{host.pk}/reports/").json()
    rows = reports["results"] if isinstance(reports, dict) else reports
    assert [r["id"] for r in rows] == [event.to_report_id, event.from_report_id]
    listed = api.get("/api/drift/", {"tag": "prod-kvm"}).json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [(e["host"]["name"], e["vanished"]) for e in items] == [("kvm-a", ["hle", "rtm"])]
    assert api.get("/api/drift/", {"host": host.pk + 1000}).json()["count"] == 0
    assert api.get("/api/drift/", {"since": "2999-01-01"}).json()["count"] == 0
    assert api.get("/api/drift/", {"since": "yesterday"}).status_code == 400


def test_same_report_again_is_no_drift(pool, cascade):
    before, _ = cascade
    services.report_ingest(raw=before, host_name="kvm-a", uploaded_by=pool)
    assert DriftEvent.objects.count() == 0


def test_stack_change_alone_is_a_drift_event(pool, cascade):
    before, _ = cascade
    services.report_ingest(
        raw=before, host_name="kvm-a", uploaded_by=pool, stack={"microcode": "0x5003302"}
    )
    services.report_ingest(
        raw=before, host_name="kvm-a", uploaded_by=pool, stack={"microcode": "0x5003604"}
    )
    event = DriftEvent.objects.get()
    assert event.vanished == [] and event.appeared == []
    assert event.stack_changes == [
        {"field": "microcode", "before": "0x5003302", "after": "0x5003604"}
    ]


class _Receiver:
    """A local HTTP server that answers 500 to the first POST and 204 after."""

    def __init__(self):
        self.posts: list[dict] = []
        self.accepted: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append(body)
                if len(receiver.posts) == 1:
                    self.send_response(500)
                else:
                    receiver.accepted.append(body)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    # retries run inside .apply(); with the embedded broker's eager mode (no REDIS_URL) they
    # would propagate as exceptions instead of running
    monkeypatch.setitem(drift_webhook_deliver.app.conf, "task_eager_propagates", False)
    server = _Receiver()
    yield server
    server.close()


def test_webhook_gets_the_event_exactly_once_even_when_the_first_post_fails(
    pool, cascade, receiver, settings, django_capture_on_commit_callbacks
):
    settings.CPUKB_WEBHOOK_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    DriftWebhook.objects.create(user=pool, url=receiver.url)
    _, after = cascade
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.report_ingest(raw=after, host_name="kvm-a", uploaded_by=pool)
    assert len(callbacks) == 1  # queued after commit: the upload never waits for the POST
    delivery = WebhookDelivery.objects.get()
    drift_webhook_deliver.apply(
        args=(delivery.pk,), throw=False
    )  # fails once, retried, then delivered
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert len(receiver.posts) == 2 and len(receiver.accepted) == 1
    assert receiver.accepted[0]["vanished"] == ["hle", "rtm"]
    assert receiver.accepted[0]["host"]["name"] == "kvm-a"
    drift_webhook_deliver.apply(
        args=(delivery.pk,), throw=False
    )  # a redelivered task: no second POST
    assert len(receiver.accepted) == 1 and len(receiver.posts) == 2


def test_webhook_to_a_private_address_is_refused_by_default(pool, cascade, receiver, settings):
    settings.CPUKB_WEBHOOK_ALLOW_PRIVATE = False
    DriftWebhook.objects.create(user=pool, url=receiver.url)
    _, after = cascade
    services.report_ingest(raw=after, host_name="kvm-a", uploaded_by=pool)
    delivery = WebhookDelivery.objects.get()
    drift_webhook_deliver.apply(args=(delivery.pk,), throw=False)
    delivery.refresh_from_db()
    assert receiver.posts == []
    assert delivery.status == "failed" and "private" in delivery.last_error


def test_pages_show_the_timeline_the_drift_list_and_the_stale_run(pool, cascade, client):
    _, after = cascade
    run = MatrixRun.objects.create(
        selection={"tag": "prod-kvm"},
        host_ids=list(Host.objects.values_list("pk", flat=True)),
        status=MatrixRun.Status.SUCCEEDED,
    )
    services.report_ingest(raw=after, host_name="kvm-a", uploaded_by=pool)
    host = Host.objects.get(name="kvm-a")
    page = client.get(f"/hosts/{host.pk}/").content.decode()
    assert "Drift timeline" in page and "hle, rtm" in page and "prod-kvm" in page
    listing = client.get("/drift/", {"tag": "prod-kvm"}).content.decode()
    assert "kvm-a" in listing and "hle, rtm" in listing
    run.refresh_from_db()
    assert run.stale_since is not None
    # the page of a run without tiles (this one was never computed): only its banner matters
    MatrixRun.objects.filter(pk=run.pk).update(status=MatrixRun.Status.PENDING)
    assert "Re-run" in client.get(f"/compat/runs/{run.pk}/").content.decode()


def test_profile_saves_a_webhook_and_refuses_a_private_one(pool, client, settings):
    settings.CPUKB_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(pool)
    client.post("/accounts/webhook/", {"url": "http://127.0.0.1:9/hook"})
    assert not DriftWebhook.objects.filter(user=pool).exists()
    client.post("/accounts/webhook/", {"url": "ftp://example.org/"})
    assert not DriftWebhook.objects.filter(user=pool).exists()
    settings.CPUKB_WEBHOOK_ALLOW_PRIVATE = True
    client.post("/accounts/webhook/", {"url": "http://127.0.0.1:9/hook"})
    assert DriftWebhook.objects.get(user=pool).url == "http://127.0.0.1:9/hook"
    client.post("/accounts/webhook/", {"url": ""})
    assert not DriftWebhook.objects.filter(user=pool).exists()


def test_reports_of_an_unknown_host_is_a_404(api, db):
    assert api.get("/api/hosts/987654/reports/").status_code == 404


def test_the_upload_queues_the_registered_webhook_task_after_commit(
    pool, cascade, monkeypatch, django_capture_on_commit_callbacks
):
    """The catalog queues the webhook task by name (kbsite.celery.enqueue): the name must be the
    registered task's, with the delivery's id."""
    from cpus import drift
    from kbsite.celery import app

    queued = []
    monkeypatch.setattr(drift, "enqueue", lambda task, *args: queued.append((task, args)))
    DriftWebhook.objects.create(user=pool, url="https://hooks.example.com/drift")
    _, after = cascade
    with django_capture_on_commit_callbacks(execute=True):
        services.report_ingest(raw=after, host_name="kvm-a", uploaded_by=pool)
    delivery = WebhookDelivery.objects.get()
    assert queued == [("cpus.tasks.drift_webhook_deliver", (delivery.pk,))]
    assert queued[0][0] in app.tasks and queued[0][0] == drift_webhook_deliver.name
