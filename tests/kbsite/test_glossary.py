"""Every verdict explains itself: the glossary page, the legend on the pages that show verdicts,
badges that link to their glossary entry, suggestions that say what they fix and leave, and one
definition of the verdict colours."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from cpus import services as cpu_services
from cpus.cpuid import compat
from kbsite.verdicts import BY_LEVEL, VERDICTS
from tests.samples import DUMPS

ROOT = Path(__file__).resolve().parents[2]
HOSTS = {
    "harpertown": "aida64_XeonE5462_Harpertown_2S_libcpuid.txt",
    "shanghai": "aida64_Opteron2378_Shanghai_2S_libcpuid.txt",
}
BADGE = re.compile(r'<a class="verdict v-([a-z-]+)" href="/glossary/#([a-z-]+)"')


@pytest.fixture
def hosts(db):
    return {
        name: cpu_services.report_ingest(raw=(DUMPS / file).read_bytes(), host_name=name)[0].host
        for name, file in HOSTS.items()
    }


def legend_levels(html: str) -> list[str]:
    legend = html.split('class="verdict-legend"', 1)[1].split("</div>", 1)[0]
    return [level for level, _ in BADGE.findall(legend)]


@pytest.mark.django_db
def test_glossary_defines_every_verdict_and_engine_level(client):
    response = client.get("/glossary/")

    html = response.content.decode()
    assert response.status_code == 200
    assert set(compat.LEVELS) <= set(BY_LEVEL)
    for word in VERDICTS:
        assert f'<dt id="{word.level}">' in html
        assert word.meaning.split("  ")[0].replace("'", "&#x27;") in html
        assert word.symbol in html
    for anchor in ("blocker", "warning", "baseline", "host-passthrough", "evc", "precision"):
        assert f'id="{anchor}"' in html


@pytest.mark.django_db
def test_glossary_is_in_the_main_navigation(client):
    nav = client.get("/glossary/").content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]

    assert 'href="/glossary/"' in nav


@pytest.mark.django_db
def test_pair_page_has_a_legend_and_every_verdict_links_to_its_entry(client, hosts):
    source, destination = hosts["harpertown"], hosts["shanghai"]
    response = client.get(
        f"/compat/pair/?source={source.pk}&destination={destination.pk}&guest_cpu=host-passthrough"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert legend_levels(html) == [word.level for word in VERDICTS]
    badges = BADGE.findall(html.split('class="columns"', 1)[1])
    assert len(badges) >= 3
    assert all(level == anchor for level, anchor in badges)
    # Intel to AMD with the host's CPU passed through: blocked on every hypervisor.
    assert {level for level, _ in badges[:3]} == {"blocked"}


@pytest.mark.django_db
def test_pair_suggestion_says_what_it_fixes_and_what_it_leaves(client, hosts):
    source, destination = hosts["harpertown"], hosts["shanghai"]
    html = client.get(
        f"/compat/pair/?source={source.pk}&destination={destination.pk}&guest_cpu=host-passthrough"
    ).content.decode()
    kvm = compat.check(
        cpu_services_view(source), cpu_services_view(destination), "host-passthrough", "kvm"
    )

    assert kvm.suggestion is not None
    assert f"Suggestion, to go from blocked to {kvm.suggestion['verdict']}" in html
    assert "it removes" in html
    if kvm.suggestion["leaves"]:
        assert "It still leaves: " in html
        assert kvm.suggestion["leaves"][0].split(":")[0] in html
    else:
        assert "It leaves no warning" in html


def cpu_services_view(host):
    from cpus import selectors

    return selectors.report_host_view(host.current_report, host.name)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/ledger/", "/ledger/accuracy"])
def test_ledger_pages_carry_the_legend(client, path):
    response = client.get(path)

    html = response.content.decode()
    assert response.status_code == 200
    assert legend_levels(html) == [word.level for word in VERDICTS]
    assert 'href="/glossary/"' in html.split("<main>", 1)[1]


@pytest.mark.django_db
def test_past_matrix_runs_are_listed(client):
    response = client.get("/compat/runs/")

    assert response.status_code == 200
    assert "No matrix run yet" in response.content.decode()
    assert client.put("/compat/runs/").status_code == 405


def test_verdict_colours_are_defined_once_in_the_stylesheet():
    css = Path(finders.find("kbsite/site.css")).read_text()
    for word in VERDICTS:
        assert len(re.findall(rf"--v-{word.level}:\s*#[0-9a-f]{{6}}", css)) == 1
        assert f".v-{word.level} {{ background: var(--v-{word.level});" in css
    # No other file defines a verdict colour (the ledger and the matrix once disagreed).
    sources = [
        p
        for folder in ("cpus", "migrations_log", "kbsite")
        for p in (ROOT / folder).rglob("*")
        if p.suffix in (".py", ".html", ".js", ".css") and p.name != "site.css"
    ]
    for path in sources:
        text = path.read_text()
        assert not re.search(r'"safe-with-model":\s*"#', text), path
        assert not re.search(r"\.v-safe[\w-]*\s*\{[^}]*background:\s*#", text), path
