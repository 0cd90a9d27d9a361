"""Seeded and curated data belong to the system owner ("catalog") and change only through staff;
names and pool tags resolve within what the user may see (their own, then the curated catalog),
so no user's upload, host name or tag changes what another user is told."""

import datetime
import importlib

import pytest
from django.apps import apps as django_apps
from rest_framework.test import APIClient

from cpus import services
from cpus.models import Host, HostReport, MatrixRun, PoolTag
from migrations_log import services as ledger
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

E5420 = DUMPS / "libcpuidraw_XeonE5420_Harpertown.txt"
HARPERTOWN, SHANGHAI = "xeon-e5462-harpertown", "opteron-2378-shanghai"


@pytest.fixture
def users(db, django_user_model):
    return {
        name: django_user_model.objects.create_user(
            name, password=f"pw-{name}-12345", is_staff=name == "staff"
        )
        for name in ("alice", "bob", "staff")
    }


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def check(user) -> dict:
    answer = client_for(user).post(
        "/api/compat/check",
        {
            "source": {"host": HARPERTOWN},
            "destination": {"host": SHANGHAI},
            "guest_cpu": "baseline",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()


def test_seeded_rows_belong_to_the_catalog_owner_who_cannot_sign_in(some_hosts):
    catalog = services.catalog_owner()
    assert not catalog.is_active and not catalog.has_usable_password()
    assert set(Host.objects.values_list("owner__username", flat=True)) == {"catalog"}
    assert set(HostReport.objects.values_list("uploaded_by__username", flat=True)) == {"catalog"}
    assert set(PoolTag.objects.values_list("owner__username", flat=True)) == {"catalog"}
    assert not APIClient().login(username="catalog", password="")


def test_an_upload_under_a_curated_name_makes_the_uploaders_own_host(some_hosts, users):
    curated = Host.objects.get(name=HARPERTOWN)
    before = {who: check(users.get(who)) for who in ("bob", None)}
    response = client_for(users["alice"]).post(
        "/api/reports/", {"raw": E5420.read_text(), "host_name": HARPERTOWN}, format="json"
    )
    assert response.status_code == 201
    curated.refresh_from_db()
    assert curated.current_report.sha256 != response.json()["sha256"]
    alices = Host.objects.get(name=HARPERTOWN, owner=users["alice"])
    assert alices.current_report_id == response.json()["id"]
    # Nobody else's answer changed; Alice's own name now means her host.
    assert {who: check(users.get(who)) for who in ("bob", None)} == before
    from cpus import selectors

    mine = selectors.host_views_by_ref([HARPERTOWN], users["alice"])[HARPERTOWN]
    assert "E5420" in mine.identity.brand


def test_a_users_empty_host_under_a_curated_name_never_makes_names_ambiguous(some_hosts, users):
    created = client_for(users["alice"]).post(
        "/api/hosts/", {"name": HARPERTOWN, "tags": ["demo-2008"]}, format="json"
    )
    assert created.status_code == 201
    assert check(users["bob"])["source"] == HARPERTOWN  # still the curated host, no "several"
    assert check(None)["source"] == HARPERTOWN


@pytest.mark.parametrize(("who", "status"), [("alice", 403), ("staff", 200)])
def test_curated_hosts_change_only_through_staff(some_hosts, users, who, status):
    curated = Host.objects.get(name=HARPERTOWN)
    other = Host.objects.get(name=SHANGHAI).current_report_id
    api = client_for(users[who])
    changed = api.patch(f"/api/hosts/{curated.pk}/", {"current_report": other}, format="json")
    assert changed.status_code == status
    curated.refresh_from_db()
    assert (curated.current_report_id == other) is (status == 200)
    deleted = api.delete(f"/api/hosts/{curated.pk}/")
    assert deleted.status_code == (403 if who == "alice" else 204)


def test_a_users_tag_of_a_curated_name_is_their_own(some_hosts, users):
    curated = PoolTag.objects.get(name="demo-2008")
    members = set(curated.hosts.values_list("pk", flat=True))
    alice = client_for(users["alice"])
    report = alice.post("/api/reports/", {"raw": E5420.read_text()}, format="json").json()
    host = alice.post(
        "/api/hosts/",
        {"name": "my-e5420", "tags": ["demo-2008"], "current_report": report["id"]},
        format="json",
    )
    assert host.status_code == 201 and host.json()["tags"] == ["demo-2008"]
    assert set(curated.hosts.values_list("pk", flat=True)) == members  # curated pool unchanged
    own = PoolTag.objects.get(name="demo-2008", owner=users["alice"])
    assert list(own.hosts.values_list("name", flat=True)) == ["my-e5420"]

    # Matrix runs by tag: Bob gets the curated pool, Alice her own; the run says which.
    for who, owner, size in (("bob", "catalog", len(members)), ("alice", "alice", 1)):
        answer = client_for(users[who]).post(
            "/api/matrix-runs/", {"tag": "demo-2008"}, format="json"
        )
        assert answer.status_code == 202, answer.json()
        assert answer.json()["selection"]["tag_owner"] == owner
        assert answer.json()["hosts"] == size
    # The pool page says which tag it used.
    page = APIClient()
    page.force_login(users["bob"])
    text = page.get("/compat/?tag=demo-2008").content.decode()
    assert "the curated one of the catalog" in text
    assert '<span class="badge">my-e5420</span>' not in text
    assert f'<span class="badge">{HARPERTOWN}</span>' in text


def test_seed_records_say_seed_ledger_and_only_they(some_hosts, users):
    source = Host.objects.get(name=HARPERTOWN).current_report
    destination = Host.objects.get(name=SHANGHAI).current_report
    common = {
        "source": source,
        "destination": destination,
        "guest_cpu": "host-passthrough",
        "hypervisor": "kvm",
        "outcome": "succeeded",
        "happened_on": datetime.date(2024, 1, 1),
    }
    seeded = ledger.migration_record(**common, seed_id="seed-example")
    users_record = ledger.migration_record(**common, submitter=users["bob"])
    legacy = MigrationRecord.objects.create(
        **{k: v for k, v in seeded.__dict__.items() if k in {"guest_cpu", "hypervisor", "outcome"}},
        source_report=source,
        destination_report=destination,
        happened_on=datetime.date(2020, 1, 1),
        predicted_verdict=seeded.predicted_verdict,
        prediction=seeded.prediction,
        engine_version=seeded.engine_version,
    )
    assert seeded.submitter.username == "catalog"
    pages = {
        r.pk: APIClient().get(f"/ledger/{r.pk}/").content.decode()
        for r in (seeded, users_record, legacy)
    }
    assert "<dd>the seed ledger</dd>" in pages[seeded.pk]
    assert "<dd>bob</dd>" in pages[users_record.pk]
    assert "the seed ledger" not in pages[legacy.pk] and "recorded anonymously" in pages[legacy.pk]


def test_services_refuse_anonymous_writes(some_hosts):
    from django.contrib.auth.models import AnonymousUser

    before = HostReport.objects.count()
    with pytest.raises(services.WriteRefused):
        services.report_ingest(raw=E5420.read_bytes(), host_name="x", uploaded_by=AnonymousUser())
    with pytest.raises(services.WriteRefused):
        ledger.migration_record_from_refs(
            source={"host": HARPERTOWN},
            destination={"raw": E5420.read_text()},
            submitter=AnonymousUser(),
            guest_cpu="host-passthrough",
            hypervisor="kvm",
            outcome="succeeded",
            happened_on=datetime.date(2024, 1, 1),
        )
    assert HostReport.objects.count() == before and MigrationRecord.objects.count() == 0


def test_the_data_migration_gives_ownerless_rows_to_the_catalog(db, users):
    migration = importlib.import_module("cpus.migrations.0009_catalog_owner")
    services.feature_sync()
    report, _ = services.report_ingest(raw=E5420.read_bytes(), uploaded_by=users["alice"])
    HostReport.objects.filter(pk=report.pk).update(uploaded_by=None)
    seeded = Host.objects.create(name="seeded", current_report=report)  # as before: no owner
    alices = Host.objects.create(name="alices", owner=users["alice"], current_report=report)
    # Before per-owner tags there was one global "rack-a"; say the catalog's host had it first.
    shared = PoolTag.objects.create(name="rack-a", owner=services.catalog_owner())
    seeded.tags.add(shared)
    alices.tags.add(shared)
    migration.forwards(django_apps, None)
    seeded.refresh_from_db()
    report.refresh_from_db()
    assert seeded.owner.username == "catalog" and report.uploaded_by.username == "catalog"
    assert [t.owner.username for t in seeded.tags.all()] == ["catalog"]
    assert [t.owner.username for t in alices.tags.all()] == ["alice"]
    assert MatrixRun.objects.count() == 0


def test_staff_curate_tags_of_catalog_hosts_users_cannot(some_hosts, users):
    curated = Host.objects.get(name="opteron-2350-barcelona")
    body = {"tags": ["seed", "demo-2008", "rack-b"]}
    refused = client_for(users["alice"]).patch(f"/api/hosts/{curated.pk}/", body, format="json")
    assert refused.status_code == 403
    done = client_for(users["staff"]).patch(f"/api/hosts/{curated.pk}/", body, format="json")
    assert done.status_code == 200
    owners = {tag.name: tag.owner.username for tag in curated.tags.all()}
    assert owners == {"seed": "catalog", "demo-2008": "catalog", "rack-b": "catalog"}
    assert PoolTag.objects.filter(name="rack-b").count() == 1
