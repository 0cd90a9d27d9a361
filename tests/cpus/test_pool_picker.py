"""The pool page keeps what the user chose: a bad guest CPU on the matrix form returns to the
same pool, what-if keeps the host it added, and the picker offers search and tags."""

from urllib.parse import parse_qs, urlsplit

import pytest

from cpus.models import Host, MatrixRun


@pytest.mark.django_db
def test_an_invalid_guest_cpu_returns_to_the_same_pool(client, seed_hosts, django_user_model):
    client.force_login(django_user_model.objects.create_user("admin1", password="pw-admin-123"))
    picked = list(Host.objects.filter(tags__name="demo-2008").values_list("pk", flat=True))
    response = client.post("/compat/runs/", {"hosts": picked, "guest_cpu": "NoSuchModel,+sse9"})

    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert target.path == "/compat/"
    assert sorted(int(pk) for pk in query["hosts"]) == sorted(picked)
    assert query["guest_cpu"] == ["NoSuchModel,+sse9"]
    assert MatrixRun.objects.count() == 0
    page = client.get(response["Location"]).content.decode()
    assert "Pool baseline of 3 hosts" in page
    assert 'role="alert"' in page


@pytest.mark.django_db
def test_tagged_pool_error_keeps_the_tag(client, seed_hosts, django_user_model):
    client.force_login(django_user_model.objects.create_user("admin2", password="pw-admin-123"))
    response = client.post("/compat/runs/", {"tag": "demo-2008", "guest_cpu": "NoSuchModel"})

    assert parse_qs(urlsplit(response["Location"]).query)["tag"] == ["demo-2008"]


@pytest.mark.django_db
def test_what_if_keeps_the_host_it_added(client, seed_hosts):
    nehalem = Host.objects.get(name="xeon-e5520-nehalem")
    html = client.get("/compat/", {"tag": "demo-2008", "add": nehalem.pk}).content.decode()

    add = html.split('<select name="add">', 1)[1].split("</select>", 1)[0]
    assert f'<option value="{nehalem.pk}" selected>' in add
    assert 'id="what-if-result"' in html


@pytest.mark.django_db
def test_the_picker_offers_search_and_select_by_tag(client, seed_hosts):
    html = client.get("/compat/").content.decode()

    assert 'id="pick-search"' in html
    assert '<button type="button" class="pick-tag" data-tag="demo-2008">' in html
    harpertown = Host.objects.get(name="xeon-e5462-harpertown")
    label = html.split(f'value="{harpertown.pk}"', 1)[0].rsplit("<label", 1)[1]
    assert "demo-2008" in label.split("data-tags=", 1)[1]


@pytest.mark.django_db
def test_pair_page_empty_states_lead_to_the_next_step(client):
    empty = client.get("/compat/pair/").content.decode()
    assert "No host has a report yet" in empty and 'href="/reports/upload/"' in empty


@pytest.mark.django_db
def test_pair_page_asks_for_both_hosts_before_answering(client, seed_hosts):
    html = client.get("/compat/pair/").content.decode()

    assert "Pick the host the VM runs on now" in html
    assert '<select name="source" required><option value="">choose a host</option>' in html
    assert 'class="columns"' not in html
