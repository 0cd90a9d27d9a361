"""Recording migrations: stored predictions, re-evaluation, accuracy, contradictions, refusals."""

import datetime
import json

import pytest
from rest_framework.test import APIClient

from cpus import selectors as cpu_selectors
from cpus import services as cpu_services
from cpus.cpuid import compat
from migrations_log import services
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

HOSTS = {
    "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "barcelona": "libvirt_cputestdata_x86_64-cpuid-Opteron-2350.xml",
    "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
    "nehalem": "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt",
}
DAY = datetime.date(2008, 11, 5)
QEMU_SSE41 = "warning: host doesn't support requested feature: CPUID.01H:ECX.sse4.1 [bit 19]"


@pytest.fixture
def hosts(db):
    return {
        name: cpu_services.report_ingest(raw=(DUMPS / file).read_bytes(), host_name=name)[0]
        for name, file in HOSTS.items()
    }


@pytest.fixture
def user_api(django_user_model):
    user = django_user_model.objects.create_user("recorder", password="pw-recorder-1")
    client = APIClient()
    client.force_authenticate(user)
    client.user = user
    return client


def record(hosts, source, destination, guest_cpu, outcome, hypervisor="kvm"):
    return services.migration_record(
        source=hosts[source],
        destination=hosts[destination],
        guest_cpu=guest_cpu,
        hypervisor=hypervisor,
        outcome=outcome,
        happened_on=DAY,
    )


@pytest.mark.django_db
def test_stored_prediction_is_the_engines_answer_at_record_time(hosts):
    stored = record(hosts, "harpertown", "shanghai", "host-passthrough", "refused-before-start")
    expected = compat.check(
        cpu_selectors.report_host_view(hosts["harpertown"]),
        cpu_selectors.report_host_view(hosts["shanghai"]),
        "host-passthrough",
        "kvm",
    ).to_dict()
    assert stored.predicted_verdict == "blocked" == expected["verdict"]
    assert stored.prediction == {**expected, "engine_version": compat.ENGINE_VERSION}
    assert {"ssse3", "sse4_1"} <= set(stored.prediction["missing"])


@pytest.mark.django_db
def test_engine_changes_never_rewrite_history(hosts, monkeypatch, client):
    stored = record(hosts, "harpertown", "shanghai", "host-passthrough", "refused-before-start")
    original = stored.prediction

    class Changed:
        verdict = "risky"

        def to_dict(self):
            return {"verdict": "risky", "reasons": [], "guest_model": None}

    monkeypatch.setattr(compat, "check", lambda *args, **kwargs: Changed())
    monkeypatch.setattr(compat, "ENGINE_VERSION", "2.0")
    stored.refresh_from_db()
    assert stored.prediction == original and stored.predicted_verdict == "blocked"
    body = client.get(f"/api/migrations/{stored.pk}/reevaluate").json()
    assert body["stored"] == original
    assert body["current"]["verdict"] == "risky" and body["current"]["engine_version"] == "2.0"
    assert body["changed"] is True
    page = client.get(f"/ledger/{stored.pk}/").content.decode()
    assert "Predicted when recorded" in page and "The engine's answer changed" in page


@pytest.mark.django_db
def test_api_records_with_explanation_and_prediction(hosts, user_api):
    body = {
        "source": {"host": hosts["harpertown"].host.pk},
        "destination": {"report": hosts["shanghai"].pk},
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "refused-before-start",
        "happened_on": "2008-11-05",
        "qemu_version": "0.9.1",
        "error_message": QEMU_SSE41,
        "source_url": "https://example.org/evidence",
    }
    response = user_api.post("/api/migrations/", body, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["predicted_verdict"] == "blocked"
    assert (
        created["explanation"]["features"] == ["sse4_1"]
        and created["explanation"]["axis"] == "features"
    )
    assert created["source_host"]["name"] == "harpertown" and created["submitter"] == "recorder"
    assert MigrationRecord.objects.get().qemu_version == "0.9.1"


@pytest.mark.django_db
def test_inline_dumps_are_stored_with_the_record(user_api):
    body = {
        "source": {"raw": (DUMPS / HOSTS["nehalem"]).read_text()},
        "destination": {"raw": (DUMPS / HOSTS["harpertown"]).read_text()},
        "guest_cpu": "Penryn",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2010-01-01",
    }
    response = user_api.post("/api/migrations/", body, format="json")
    assert response.status_code == 201, response.json()
    assert MigrationRecord.objects.get().source_report.format == "libcpuid"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"source": {"host": 99999}}, "source", "no host"),
        ({"destination": {"cpu_model": 99999}}, "destination", "no cpu model"),
        ({"destination": "same"}, "destination", "same host report"),
        ({"error_message": "x" * 70_000}, "error_message", "no more than"),
        ({"guest_cpu": "Pentium9000,+warp"}, "guest_cpu", "Pentium9000"),
        ({"outcome": "exploded"}, "outcome", "not a valid choice"),
        ({"source": {"raw": "not a dump at all"}}, None, "not a recognised"),
    ],
)
def test_bad_input_is_a_400_and_stores_nothing(hosts, user_api, change, field, reason):
    from cpus.models import HostReport

    body = {
        "source": {"report": hosts["harpertown"].pk},
        "destination": {"report": hosts["shanghai"].pk},
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2008-11-05",
    }
    body.update(change)
    if body["destination"] == "same":
        body["destination"] = body["source"]
    reports = HostReport.objects.count()
    response = user_api.post("/api/migrations/", body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()
    assert reason in json.dumps(error)
    if field:
        assert error.get("field") == field
    assert MigrationRecord.objects.count() == 0 and HostReport.objects.count() == reports


@pytest.mark.django_db
def test_accuracy_on_a_hand_built_ledger(hosts, client):
    # KVM: blocked and failed, blocked but succeeded, not blocked but failed, and so on.
    record(hosts, "harpertown", "shanghai", "host-passthrough", "refused-before-start")
    record(hosts, "nehalem", "harpertown", "host-passthrough", "failed-during")
    record(hosts, "shanghai", "harpertown", "host-passthrough", "succeeded")
    record(hosts, "harpertown", "nehalem", "Penryn", "guest-crashed-after")
    record(hosts, "barcelona", "shanghai", "Opteron_G2,-rdtscp", "succeeded")
    predicted = {r.outcome: r.predicted_verdict for r in MigrationRecord.objects.all()}
    assert predicted["refused-before-start"] == predicted["failed-during"] == "blocked"
    assert predicted["succeeded"] in ("blocked", "safe-with-model", "risky", "safe")
    (kvm,) = services.accuracy(MigrationRecord.objects.all())
    blocked = [r for r in MigrationRecord.objects.all() if r.predicted_verdict == "blocked"]
    tp = sum(r.failed for r in blocked)
    fp = len(blocked) - tp
    fn = sum(r.failed for r in MigrationRecord.objects.all() if r.predicted_verdict != "blocked")
    assert (
        kvm.blocked_true_positives,
        kvm.blocked_false_positives,
        kvm.blocked_false_negatives,
    ) == (tp, fp, fn)
    assert kvm.blocked_precision == pytest.approx(tp / (tp + fp))
    assert kvm.blocked_recall == pytest.approx(tp / (tp + fn))
    assert sum(sum(row.values()) for row in kvm.matrix.values()) == 5
    body = client.get("/api/migrations/accuracy").json()["hypervisors"][0]
    assert body["blocked"]["true_positives"] == tp and body["total"] == 5
    page = client.get("/ledger/accuracy").content.decode()
    assert "<svg" in page and "precision" in page


@pytest.mark.django_db
def test_accuracy_counts_by_hand():
    class R:
        def __init__(self, verdict, outcome):
            self.hypervisor, self.predicted_verdict, self.outcome = "vmware", verdict, outcome

    ledger = [
        R("blocked", "refused-before-start"),
        R("blocked", "refused-before-start"),
        R("blocked", "succeeded"),
        R("safe", "failed-during"),
        R("safe", "succeeded"),
        R("risky", "succeeded-with-issues"),
    ]
    (vmware,) = services.accuracy(ledger)
    assert vmware.blocked_precision == pytest.approx(2 / 3)
    assert vmware.blocked_recall == pytest.approx(2 / 3)
    assert (
        vmware.matrix["safe"]["failed-during"] == 1
        and vmware.matrix["risky"]["succeeded-with-issues"] == 1
    )


@pytest.mark.django_db
def test_contradictions_appear_on_the_ledger_and_the_pages_involved(hosts, client):
    blocked_but_ok = record(hosts, "harpertown", "shanghai", "host-passthrough", "succeeded")
    consistent = record(hosts, "shanghai", "harpertown", "host-passthrough", "refused-before-start")
    assert blocked_but_ok.contradiction and not consistent.contradiction
    listed = client.get("/api/migrations/contradictions").json()
    assert [r["id"] for r in listed] == [blocked_but_ok.pk]
    assert (
        "predicted blocked, but the migration succeeded"
        in client.get("/ledger/contradictions").content.decode()
    )
    host_page = client.get(f"/hosts/{hosts['harpertown'].host.pk}/").content.decode()
    assert "contradicted our prediction" in host_page
    cpu_page = client.get(f"/cpus/{hosts['shanghai'].cpu_model_id}/").content.decode()
    assert "contradicted our prediction" in cpu_page
    barcelona = client.get(f"/cpus/{hosts['barcelona'].cpu_model_id}/").content.decode()
    assert "contradicted our prediction" not in barcelona


@pytest.mark.django_db
def test_only_the_submitter_or_staff_may_edit(hosts, django_user_model):
    owner = django_user_model.objects.create_user("owner", password="pw-owner-1")
    other = django_user_model.objects.create_user("other", password="pw-other-1")
    staff = django_user_model.objects.create_user("staff", password="pw-staff-1", is_staff=True)
    stored = services.migration_record(
        source=hosts["harpertown"],
        destination=hosts["shanghai"],
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="succeeded",
        happened_on=DAY,
        submitter=owner,
    )
    statuses = {}
    for name, user in (("anonymous", None), ("other", other), ("owner", owner), ("staff", staff)):
        client = APIClient()
        if user:
            client.force_authenticate(user)
        statuses[name] = client.patch(
            f"/api/migrations/{stored.pk}/", {"notes": name}, format="json"
        ).status_code
    assert statuses == {"anonymous": 401, "other": 403, "owner": 200, "staff": 200}
    stored.refresh_from_db()
    assert stored.notes == "staff" and stored.predicted_verdict == "blocked"


@pytest.mark.django_db
def test_explain_error_endpoint(client):
    known = client.post(
        "/api/migrations/explain-error",
        {
            "message": "the CPU is incompatible with host CPU: "
            "Host CPU does not provide required features: svm"
        },
        content_type="application/json",
    ).json()
    assert (known["hypervisor"], known["axis"], known["features"]) == (
        "libvirt",
        "nested virt",
        ["svm"],
    )
    unknown = client.post(
        "/api/migrations/explain-error",
        {"message": "the printer is on fire"},
        content_type="application/json",
    ).json()
    assert (
        unknown["matched"] is False
        and "not one the knowledge base recognises" in unknown["summary"]
    )
    too_long = client.post(
        "/api/migrations/explain-error", {"message": "x" * 70_000}, content_type="application/json"
    )
    assert too_long.status_code == 400


@pytest.mark.django_db
def test_web_form_previews_then_saves(hosts, client, django_user_model):
    client.force_login(django_user_model.objects.create_user("web", password="pw-web-12345"))
    form = {
        "source_host": hosts["harpertown"].host.pk,
        "destination_cpu": hosts["shanghai"].cpu_model_id,
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "refused-before-start",
        "happened_on": "2008-11-05",
        "error_message": QEMU_SSE41.replace("sse4.1 [bit 19]", "ssse3 [bit 9]"),
    }
    preview = client.post("/ledger/record/", {**form, "preview": "1"}).content.decode()
    assert "The error means" in preview and "ssse3" in preview and ">blocked<" in preview
    assert MigrationRecord.objects.count() == 0
    saved = client.post("/ledger/record/", {**form, "save": "1"}, follow=True)
    assert saved.status_code == 200
    assert MigrationRecord.objects.get().submitter.username == "web"


@pytest.mark.django_db
def test_web_form_refuses_same_source_and_destination(hosts, member_client):
    form = {
        "source_host": hosts["harpertown"].host.pk,
        "destination_host": hosts["harpertown"].host.pk,
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": "2008-11-05",
        "save": "1",
    }
    response = member_client.post("/ledger/record/", form)
    assert response.status_code == 400 and "same host report" in response.content.decode()
    assert MigrationRecord.objects.count() == 0
