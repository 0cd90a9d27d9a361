"""Every main page fits a phone (390 px) and a desktop (1280 px) window: the page body never
scrolls sideways (wide tables and heatmaps scroll inside their own box), no console error; the
pair page's three hypervisor columns share the width; every verdict links to the glossary; the
host picker selects a pool by tag and finds hosts by search."""

import datetime
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from cpus import services
from cpus.models import GuestCpuModel
from migrations_log import services as ledger_services
from tests.samples import DUMPS

WIDTHS = (390, 1280)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

OVERFLOW = """() => {
  const doc = document.documentElement;
  const wide = [];
  // Elements wider than the window that are not inside a box that scrolls on its own.
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right <= window.innerWidth + 1 || r.width === 0) continue;
    let box = el.parentElement, contained = false;
    while (box && box !== document.body) {
      const s = getComputedStyle(box);
      if (['auto', 'scroll', 'hidden'].includes(s.overflowX)) { contained = true; break; }
      box = box.parentElement;
    }
    const own = getComputedStyle(el).overflowX;
    if (!contained && !['auto', 'scroll'].includes(own)) {
      wide.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
    }
  }
  return {scroll: doc.scrollWidth, width: window.innerWidth, wide: wide.slice(0, 5)};
}"""


@pytest.fixture
def pages(demo_pool) -> list[str]:
    """The main pages, with the 2008 pool and a ledger record behind them."""
    harpertown, shanghai = demo_pool["harpertown"], demo_pool["shanghai"]
    services.guest_models_sync()
    services.report_ingest(
        raw=(DUMPS / "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt").read_bytes()
    )
    record = ledger_services.migration_record(
        source=harpertown.current_report,
        destination=shanghai.current_report,
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="refused-before-start",
        happened_on=datetime.date(2008, 11, 5),
    )
    report = shanghai.current_report
    return [
        "/",
        "/cpus/",
        f"/cpus/{report.cpu_model_id}/",
        "/hosts/",
        f"/hosts/{shanghai.pk}/",
        "/features/",
        "/features/sse4a/",
        "/guest-models/",
        "/reports/",
        f"/reports/{report.pk}/",
        "/reports/upload/",
        "/compat/?tag=demo-2008",
        f"/compat/pair/?source={harpertown.pk}&destination={shanghai.pk}&guest_cpu=host-passthrough",
        "/compat/runs/",
        "/ledger/",
        "/ledger/accuracy",
        "/ledger/record/",
        f"/ledger/{record.pk}/",
        "/ledger/contradictions",
        "/ledger/reevaluation",
        f"/cpus/compare/?a={report.cpu_model_id}&b={harpertown.current_report.cpu_model_id}",
        f"/guest-models/{GuestCpuModel.objects.get(source='libvirt', name='Opteron_G3').pk}/",
        "/glossary/",
    ]


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways_and_none_logs_an_error(context, page, pages, width, screenshot):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text}") if m.type == "error" else None)
    page.set_viewport_size({"width": width, "height": 900})
    too_wide = {}
    for path in pages:
        response = page.goto(path)
        assert response.status < 400, (path, response.status)
        measured = page.evaluate(OVERFLOW)
        if path.startswith("/compat/pair/"):
            screenshot(page, "pair" if width > 600 else "phone-pair")
        elif path == "/glossary/" and width > 600:
            screenshot(page, "glossary")
        elif path == "/cpus/" and width < 600:
            screenshot(page, "phone-catalog")
        if measured["scroll"] > measured["width"] or measured["wide"]:
            too_wide[path] = measured
    assert not too_wide, too_wide
    assert not errors, errors


def test_pair_page_columns_share_the_width_and_verdicts_link_to_the_glossary(page, demo_pool):
    harpertown, shanghai = demo_pool["harpertown"], demo_pool["shanghai"]
    page.goto(
        f"/compat/pair/?source={harpertown.pk}&destination={shanghai.pk}&guest_cpu=host-passthrough"
    )
    columns = page.locator(".columns > section")
    expect(columns).to_have_count(3)
    widths = [columns.nth(i).bounding_box()["width"] for i in range(3)]
    assert max(widths) - min(widths) < 2, widths
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    badges = page.locator(".columns a.verdict")
    expect(badges).to_have_count(3)
    for i in range(3):
        href = badges.nth(i).get_attribute("href")
        assert href == f"/glossary/#{badges.nth(i).locator('span').nth(1).inner_text()}"
    badges.first.click()
    expect(page).to_have_url(re.compile(r"/glossary/#blocked$"))
    expect(page.locator("dt#blocked")).to_be_in_viewport()
    expect(page.locator("dt#blocked + dd")).to_contain_text("blocker")


def test_host_picker_selects_a_pool_by_tag_and_by_search(page, demo_pool):
    services.report_ingest(
        raw=(DUMPS / "libcpuidraw_XeonE5520_NehalemEP_Gainestown.txt").read_bytes(),
        host_name="nehalem",
    )
    page.goto("/compat/")
    picks = page.locator("#host-picks label.pick")
    expect(picks).to_have_count(4)
    # The box sits left of its name, on the name's first line (not centred above it).
    box = picks.first.locator("input").bounding_box()
    name = picks.first.locator("span").first.bounding_box()
    centre = box["y"] + box["height"] / 2
    assert box["x"] + box["width"] <= name["x"]
    assert name["y"] <= centre <= name["y"] + 24, (box, name)

    page.get_by_role("button", name="demo-2008").click()
    expect(page.locator("#pick-count")).to_have_text("3 selected")
    expect(page.locator("#host-picks input:checked")).to_have_count(3)
    page.get_by_role("button", name="Show the baseline").click()
    expect(page.locator("#baseline h2")).to_have_text("Pool baseline of 3 hosts")
    expect(page.locator("#baseline")).to_be_in_viewport()

    page.get_by_role("button", name="Clear").click()
    page.fill("#pick-search", "nehal")
    expect(picks.filter(visible=True)).to_have_count(1)
    picks.filter(visible=True).locator("input").check()
    expect(page.locator("#pick-count")).to_have_text("1 selected")


def test_catalog_and_ledger_sort_by_clicking_a_column(page, pages):
    page.goto("/cpus/")
    page.locator("thead").get_by_role("link", name="Family").click()
    expect(page).to_have_url(re.compile(r"ordering=family$"))
    cells = page.locator("table.list tbody tr td:nth-child(3)")
    families = [int(text.split()[0]) for text in cells.all_inner_texts()]
    assert families == sorted(families) and len(set(families)) > 1
    page.locator("thead").get_by_role("link", name=re.compile("^Family")).click()
    expect(page).to_have_url(re.compile(r"ordering=-family$"))
    families = [int(text.split()[0]) for text in cells.all_inner_texts()]
    assert families == sorted(families, reverse=True)

    page.goto("/ledger/")
    page.locator("thead").get_by_role("link", name="Predicted").click()
    expect(page).to_have_url(re.compile(r"ordering=predicted$"))
    expect(page.locator("table.list tbody tr")).to_have_count(1)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_accessibility_violation_on_any_main_page(page, pages, width):
    """axe-core (bundled by axe-playwright-python) on every main page: nothing of impact
    serious or critical."""
    axe = Axe()
    page.set_viewport_size({"width": width, "height": 900})
    found = {}
    for path in pages:
        page.goto(path)
        results = axe.run(page)
        serious = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])}x, e.g. {v['nodes'][0]['target']}: "
            f"{v['nodes'][0].get('failureSummary', '')[:200]})"
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[path] = serious
    assert not found, found
