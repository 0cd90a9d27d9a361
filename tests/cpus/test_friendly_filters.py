"""Filters a first-time user can use: vendor words, hex families, sortable columns, "Any" for
yes/no filters, names instead of ids on the ledger, unknown API parameters refused by name, and
the catalog marking what is not a dump of a real host."""

import datetime

import pytest

from cpus.models import CpuModel
from migrations_log import services as ledger_services


@pytest.mark.django_db
@pytest.mark.parametrize("word", ["AMD", "amd", "AuthenticAMD"])
def test_vendor_words_are_accepted(client, seed_hosts, word):
    answer = client.get("/api/cpu-models/", {"vendor": word, "limit": 500}).json()

    amd = CpuModel.objects.filter(vendor="AuthenticAMD").count()
    assert amd > 0
    assert answer["count"] == amd
    assert {cpu["vendor"] for cpu in answer["results"]} == {"AuthenticAMD"}


@pytest.mark.django_db
def test_an_unknown_vendor_is_a_400_naming_the_accepted_words(client, seed_hosts):
    response = client.get("/api/cpu-models/", {"vendor": "Acme"})  # no x86 maker of that name

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_vendor"
    assert "Intel, AMD, Hygon, Zhaoxin, VIA" in body["error"]
    page = client.get("/cpus/", {"vendor": "Acme"})
    assert page.status_code == 400
    assert "Intel, AMD, Hygon, Zhaoxin, VIA" in page.content.decode()
    # A maker of old x86 CPUs is a known word, not an error (issue 16: every vendor string).
    assert client.get("/api/cpu-models/", {"vendor": "Cyrix"}).status_code == 200


@pytest.mark.django_db
def test_family_in_hex_equals_family_in_decimal_and_the_page_shows_both(client, seed_hosts):
    decimal = client.get("/api/cpu-models/", {"family": "16", "limit": 500}).json()
    hexadecimal = client.get("/api/cpu-models/", {"family": "0x10", "limit": 500}).json()

    assert decimal["count"] == CpuModel.objects.filter(family=16).count() > 0
    assert [c["id"] for c in hexadecimal["results"]] == [c["id"] for c in decimal["results"]]
    html = client.get("/cpus/", {"family": "0x10"}).content.decode()
    assert '16 <span class="muted">(0x10)</span>' in html


@pytest.mark.django_db
def test_filter_errors_carry_a_real_code(client, seed_hosts):
    body = client.get("/api/cpu-models/", {"family": "sixteen"}).json()

    assert body["code"] == "invalid_number"
    assert body["field"] == "family"


@pytest.mark.django_db
def test_unknown_query_parameters_are_refused_by_name(client, seed_hosts):
    response = client.get("/api/cpu-models/", {"vendr": "AMD", "limit": 5})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_parameter"
    assert "vendr" in body["error"] and "vendor" in body["error"]
    assert client.get("/api/hosts/", {"tag": "seed", "names": "qemu"}).status_code == 200


@pytest.mark.django_db
def test_catalog_sorts_by_any_column_on_the_page_and_in_the_api(client, seed_hosts):
    api = client.get("/api/cpu-models/", {"ordering": "-family", "limit": 500}).json()
    families = [c["family"] for c in api["results"]]
    assert families == sorted(families, reverse=True) and len(set(families)) > 2

    html = client.get("/cpus/", {"ordering": "family"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert 'href="?ordering=-family"' in html  # the same header sorts the other way next
    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
    shown = [int(r.split('<td class="num">', 1)[1].split(" ", 1)[0]) for r in rows]
    assert shown == sorted(shown)


@pytest.mark.django_db
def test_yes_no_filters_offer_any_not_unknown(client, seed_hosts):
    for path in ("/features/", "/guest-models/"):
        html = client.get(path).content.decode()

        assert '<option value="" selected>Any</option>' in html, path
        assert "Unknown" not in html, path


@pytest.mark.django_db
def test_dumps_taken_inside_a_vm_are_marked_and_can_be_hidden(client, seed_hosts):
    in_vm_only = [
        cpu for cpu in CpuModel.objects.all() if not cpu.reports.filter(in_vm=False).exists()
    ]
    assert in_vm_only  # the seed has two dumps taken in guests
    html = client.get("/cpus/").content.decode()
    real = client.get("/api/cpu-models/", {"real": "true", "limit": 500}).json()

    rows = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert rows.count(">inside a VM</span>") == len(in_vm_only)
    assert real["count"] == CpuModel.objects.count() - len(in_vm_only)
    assert not {cpu.pk for cpu in in_vm_only} & {c["id"] for c in real["results"]}
    assert all(c["real_reports"] > 0 for c in real["results"])


@pytest.mark.django_db
def test_ledger_filters_take_host_and_cpu_names_and_sort(client, seed_hosts):
    from cpus.models import Host

    source = Host.objects.get(name="xeon-e5462-harpertown")
    destination = Host.objects.get(name="opteron-2378-shanghai")
    other = Host.objects.get(name="xeon-e5520-nehalem")
    for dest, day in ((destination, 5), (other, 6)):
        ledger_services.migration_record(
            source=source.current_report,
            destination=dest.current_report,
            guest_cpu="host-passthrough",
            hypervisor="kvm",
            outcome="refused-before-start",
            happened_on=datetime.date(2008, 11, day),
        )

    by_name = client.get("/api/migrations/", {"host": "OPTERON-2378-shanghai"}).json()
    by_id = client.get("/api/migrations/", {"host": destination.pk}).json()
    by_cpu = client.get("/api/migrations/", {"cpu_model": "E5520"}).json()
    html = client.get("/ledger/", {"ordering": "date"}).content.decode()

    assert by_name["count"] == by_id["count"] == 1
    assert by_cpu["count"] == 1
    assert '<datalist id="ledger-hosts">' in html and 'value="xeon-e5520-nehalem"' in html
    assert html.index("2008-11-05") < html.index("2008-11-06")
