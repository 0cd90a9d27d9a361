"""Host references of the compatibility API: one query for all of them, the same answers as the
catalog's ORM path, and no stale verdict after a host gets a new report."""

import dataclasses

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from cpus import selectors, services
from cpus.models import Host

pytestmark = pytest.mark.django_db


def _orm_view(ref, user=None):
    return selectors.report_host_view(services.report_for_ref(ref, uploaded_by=user))


def test_every_seed_host_resolves_as_the_orm_path_does(seed_hosts):
    names = [entry["host"] for entry in seed_hosts]
    ids = list(Host.objects.filter(name__in=names).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as queries:
        by_name = selectors.host_views_by_ref(names)
    assert len(queries) == 1
    by_id = selectors.host_views_by_ref(ids)
    assert len(by_name) == len(names) and len(by_id) == len(ids)
    for name in names:
        assert by_name[name] == _orm_view({"host": name}), name
    for pk in ids:
        assert by_id[pk] == _orm_view({"host": pk}), pk


def test_unknown_reportless_and_odd_values(seed_hosts):
    Host.objects.create(name="bare-metal-without-report", owner=services.catalog_owner())
    answers = selectors.host_views_by_ref(
        ["no-such-host", 999_999, "bare-metal-without-report", True, None, 1.5]
    )
    assert set(answers) == {"no-such-host", 999_999, "bare-metal-without-report"}
    assert str(answers["no-such-host"]) == (
        "no host 'no-such-host' of yours or of the catalog (name another user's host by its id)"
    )
    assert str(answers[999_999]) == "no host 999999"
    assert str(answers["bare-metal-without-report"]) == (
        "host bare-metal-without-report has no report yet"
    )


def test_a_name_means_the_callers_own_host_else_the_catalogs(seed_hosts, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-123")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    seeded = Host.objects.get(name="xeon-e5462-harpertown")
    # Alice names one of her machines like a seed host, with another CPU's report.
    shanghai = Host.objects.get(name="opteron-2378-shanghai").current_report
    Host.objects.create(name="xeon-e5462-harpertown", owner=alice, current_report=shanghai)

    mine = selectors.host_views_by_ref(["xeon-e5462-harpertown"], alice)["xeon-e5462-harpertown"]
    # The ORM path finds the same report (it labels it by the host that first uploaded it).
    expected = _orm_view({"host": "xeon-e5462-harpertown"}, alice)
    assert expected.identity.vendor == "AuthenticAMD"
    assert mine == dataclasses.replace(expected, label="xeon-e5462-harpertown")

    # Alice's host never changes (nor makes ambiguous) what the name means for anyone else:
    # for Bob and for anonymous callers it is the curated catalog's host, on both paths.
    for who in (bob, None):
        theirs = selectors.host_views_by_ref(["xeon-e5462-harpertown"], who)
        assert theirs["xeon-e5462-harpertown"].identity.vendor == "GenuineIntel"
        assert theirs["xeon-e5462-harpertown"] == _orm_view({"host": "xeon-e5462-harpertown"}, who)
    by_id = selectors.host_views_by_ref([seeded.pk], alice)[seeded.pk]
    assert by_id.identity.vendor == "GenuineIntel"


def test_another_users_host_is_named_by_its_id_only(seed_hosts, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-123")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    shanghai = Host.objects.get(name="opteron-2378-shanghai").current_report
    private = Host.objects.create(name="alice-rack-7", owner=alice, current_report=shanghai)
    answer = selectors.host_views_by_ref(["alice-rack-7", private.pk], bob)
    assert isinstance(answer["alice-rack-7"], services.HostRefError)
    assert answer["alice-rack-7"].not_found
    assert answer[private.pk].identity.vendor == "AuthenticAMD"
    with pytest.raises(services.HostRefError, match="of yours or of the catalog"):
        services.report_for_ref({"host": "alice-rack-7"}, uploaded_by=bob)


def test_a_host_sharing_a_report_is_labelled_by_its_own_name(seed_hosts):
    report = Host.objects.get(name="opteron-2378-shanghai").current_report
    Host.objects.create(
        name="second-shanghai-box", current_report=report, owner=services.catalog_owner()
    )
    view = selectors.host_views_by_ref(["second-shanghai-box"])["second-shanghai-box"]
    assert view.label == "second-shanghai-box"
    assert view.feature_mask == report.feature_set.feature_mask


def _check(client, source, destination, **options):
    return client.post(
        "/api/compat/check",
        {"source": source, "destination": destination, **options},
        format="json",
    )


def test_the_check_resolves_both_hosts_in_one_query(seed_hosts):
    client = APIClient()
    refs = ({"host": "xeon-e5462-harpertown"}, {"host": "opteron-2378-shanghai"})
    with CaptureQueriesContext(connection) as queries:
        answer = _check(client, *refs, guest_cpu="baseline")
    assert answer.status_code == 200, answer.json()
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert answer.json()["source"] == "xeon-e5462-harpertown"
    assert answer.json()["destination"] == "opteron-2378-shanghai"


def test_errors_name_the_field(seed_hosts):
    client = APIClient()
    Host.objects.create(name="no-report-yet", owner=services.catalog_owner())
    missing = _check(client, {"host": "xeon-e5462-harpertown"}, {"host": "nowhere"})
    assert missing.status_code == 404
    assert missing.json()["field"] == "destination"
    assert missing.json()["error"].startswith("no host 'nowhere' of yours or of the catalog")
    bare = _check(client, {"host": "no-report-yet"}, {"host": "xeon-e5462-harpertown"})
    assert bare.status_code == 400
    assert bare.json()["field"] == "source"
    odd = _check(client, {"host": [1]}, {"host": "xeon-e5462-harpertown"})
    assert odd.status_code == 404 and odd.json()["field"] == "source"


def test_a_new_report_changes_the_answer_at_once(seed_hosts):
    """The verdict is remembered per process, keyed by what the hosts are: a host whose report
    changes is asked about afresh."""
    client = APIClient()
    refs = ({"host": "opteron-2378-shanghai"}, {"host": "xeon-e5462-harpertown"})
    before = _check(client, *refs)
    assert before.status_code == 200
    assert before.json()["verdict"] == "blocked"  # passthrough across vendors

    destination = Host.objects.get(name="xeon-e5462-harpertown")
    destination.current_report = Host.objects.get(name="opteron-2378-shanghai").current_report
    destination.save(update_fields=["current_report"])
    after = _check(client, *refs)
    assert after.status_code == 200
    same_cpu = _check(client, refs[0], refs[0])
    assert after.json()["verdict"] == same_cpu.json()["verdict"] != "blocked"
    assert after.json()["reasons"] == same_cpu.json()["reasons"]
    assert after.json()["missing"] == []
