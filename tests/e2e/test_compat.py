"""In the browser: build the 2008 pool, copy its libvirt XML, run its matrix on a real worker,
watch the progress bar finish and read the reasons of heatmap cells."""

import re
import xml.etree.ElementTree as ElementTree

import pytest
from playwright.sync_api import expect

from cpus.models import MatrixRun

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

RUN_TIMEOUT_MS = 180_000


def test_pool_baseline_and_copying_the_libvirt_xml(page, context, live_server, demo_pool):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto("/compat/")
    for name in ("harpertown", "barcelona", "shanghai"):
        page.get_by_role("checkbox", name=re.compile(rf"^\s*{name}\b")).check()
    page.get_by_role("button", name="Show the baseline").click()

    expect(page).to_have_url(re.compile(r"/compat/\?.*hosts="))
    baseline = page.locator("section.baseline")
    expect(baseline.locator("h2")).to_have_text("Pool baseline of 3 hosts")
    expect(baseline.locator(".badge")).to_have_text(["barcelona", "harpertown", "shanghai"])
    expect(baseline).to_contain_text("2 AuthenticAMD")
    expect(baseline).to_contain_text("1 GenuineIntel")
    expect(baseline).to_contain_text("VMware never migrates across vendors")
    # Vendor-specific bits are not common to the pool.
    chips = baseline.locator("dd .chip")
    for common in ("sse2", "cx16", "lm", "nx"):
        expect(chips.filter(has_text=re.compile(rf"^{common}$"))).to_have_count(1)
    for vendor_only in ("svm", "vmx", "ssse3", "sse4a", "3dnow"):
        expect(chips.filter(has_text=re.compile(rf"^{vendor_only}$"))).to_have_count(0)

    export = page.locator("pre#export-libvirt_xml")
    expect(export).to_contain_text(re.compile(r"^<cpu mode='custom' match='exact'[ >]"))
    assert page.evaluate("window.isSecureContext"), "the clipboard API needs a secure context"
    copy = page.locator("button.copy[data-target=export-libvirt_xml]")
    copy.click()
    expect(copy).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == export.text_content()
    cpu = ElementTree.fromstring(copied)
    assert (cpu.tag, cpu.get("mode"), cpu.get("match")) == ("cpu", "custom", "exact")
    assert cpu.find("model") is not None and cpu.find("model").text
    expect(copy).to_have_text("Copy")  # the label comes back

    # The same pool by its tag gives the same export.
    page.goto("/compat/")
    page.select_option("select[name=tag]", "demo-2008")
    page.get_by_role("button", name="Show the baseline").click()
    expect(page).to_have_url(re.compile(r"/compat/\?tag=demo-2008"))
    expect(page.locator("pre#export-libvirt_xml")).to_have_text(copied)


def test_the_matrix_runs_on_a_real_worker_and_its_cells_explain_themselves(
    signed_in, page, demo_pool, celery_worker, screenshot
):
    page.goto("/compat/?tag=demo-2008")
    expect(page.locator("section.baseline h2")).to_have_text("Pool baseline of 3 hosts")
    screenshot(page, "compat-pool")
    expect(page.locator("input[name=guest_cpu]")).to_have_value("baseline")
    page.get_by_role("button", name="Run the matrix").click()

    # No worker yet: the run waits in the queue and the page says so, with an empty bar.
    expect(page).to_have_url(re.compile(r"/compat/runs/\d+/$"))
    run = MatrixRun.objects.get()
    assert page.url.endswith(f"/compat/runs/{run.pk}/")
    expect(page.locator("#run-state")).to_have_text(re.compile(r"^(pending|running)$"))
    progress = page.locator("#run-status .progress")
    expect(progress).to_have_attribute("aria-valuenow", "0")
    expect(page.locator("table.heatmap")).to_have_count(0)

    # The page polls the API; once the worker has run every tile it reloads with the heatmaps.
    celery_worker()
    expect(page.locator("table.heatmap").first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#run-state")).to_have_text("succeeded")
    expect(progress).to_have_attribute("aria-valuenow", "100")
    bar = page.locator("#run-status .progress .bar")
    assert bar.evaluate("el => el.style.width") == "100%"
    run.refresh_from_db()
    assert run.status == "succeeded" and run.tiles_done == run.tiles_total > 0
    expect(page.locator("#run-progress")).to_have_text(f"{run.tiles_done}/{run.tiles_total} tiles")
    # The tab title and the heading say the same; baseline says what it resolved to; the legend
    # explains the letters, and every cell carries its verdict's letter (never colour alone).
    assert page.title().startswith(f"Migration matrix #{run.pk}")
    expect(page.locator("h1")).to_have_text(f"Migration matrix #{run.pk}")
    expect(page.locator(".baseline-resolved")).to_contain_text("Opteron_G")
    expect(page.locator(".verdict-legend a.verdict")).to_have_count(4)
    expect(page.locator(".verdict-legend a").last).to_have_attribute("href", "/glossary/")
    letters = page.locator("table.heatmap[data-hypervisor=kvm] td.cell").all_inner_texts()
    assert letters and all(text[:1] in "SMRX" for text in letters), letters
    expect(page.locator("table.heatmap th.col").first).to_have_attribute("title", re.compile(".+"))
    # At phone width the grid scrolls in its own box, never the page.
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/compat/runs/")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    page.get_by_role("link", name=f"#{run.pk}").click()
    expect(page.locator("table.heatmap").first).to_be_visible()

    tabs = page.locator(".tabs a[data-tab]")
    expect(tabs).to_have_text(["kvm", "vmware", "hyperv"])
    kvm = page.locator("table.heatmap[data-hypervisor=kvm]")
    expect(kvm).to_be_visible()
    expect(kvm.locator("td.cell")).to_have_count(9)
    expect(page.locator("table.heatmap[data-hypervisor=vmware]")).to_be_hidden()

    harpertown, shanghai = demo_pool["harpertown"].pk, demo_pool["shanghai"].pk
    reasons = page.locator("#cell-reasons")
    expect(reasons).to_be_hidden()

    # KVM with the pool's baseline model: Intel to AMD is not blocked (the 2008 demonstration),
    # but crossing vendors is mentioned.
    kvm.locator(f"td.cell[data-source='{harpertown}'][data-destination='{shanghai}']").click()
    expect(reasons).to_be_visible()
    expect_panel_shows(page, run, "kvm", harpertown, shanghai)
    expect(page.locator("#cell-title")).to_have_text(
        re.compile(r"^harpertown \u2192 shanghai \(kvm\): (safe|safe-with-model|risky)$")
    )
    expect(page.locator("#cell-body ul.reasons")).to_contain_text(re.compile("vendor", re.I))
    screenshot(page, "matrix-run")

    # VMware never crosses vendors: the same cell is blocked, and says why.
    page.locator(".tabs a[data-tab=vmware]").click()
    vmware = page.locator("table.heatmap[data-hypervisor=vmware]")
    expect(vmware).to_be_visible()
    expect(kvm).to_be_hidden()
    expect(page.locator(".tabs a[data-tab=vmware]")).to_have_class(re.compile(r"\bactive\b"))
    cell = vmware.locator(f"td.cell[data-source='{harpertown}'][data-destination='{shanghai}']")
    expect(cell).to_have_class(re.compile(r"\bv-blocked\b"))
    cell.click()
    expect(page.locator("#cell-title")).to_have_text("harpertown \u2192 shanghai (vmware): blocked")
    expect_panel_shows(page, run, "vmware", harpertown, shanghai)
    expect(page.locator("#cell-body ul.reasons")).to_contain_text("never crosses CPU vendors")

    # A host to itself is safe on every hypervisor; the keyboard opens a cell too.
    diagonal = vmware.locator(f"td.cell[data-source='{shanghai}'][data-destination='{shanghai}']")
    expect(diagonal).to_have_class(re.compile(r"\bv-safe"))
    diagonal.focus()
    diagonal.press("Enter")
    expect(page.locator("#cell-title")).to_have_text(
        re.compile(r"^shanghai \u2192 shanghai \(vmware\): safe")
    )
    expect_panel_shows(page, run, "vmware", shanghai, shanghai)


def expect_panel_shows(page, run, hypervisor: str, source: int, destination: int) -> None:
    """The reasons panel shows exactly what the API answers for that cell."""
    response = page.request.get(
        f"/api/matrix-runs/{run.pk}/cell?hypervisor={hypervisor}"
        f"&source={source}&destination={destination}"
    )
    assert response.ok, response.text()
    verdict = response.json()
    expect(page.locator("#cell-title")).to_have_text(
        f"{verdict['source']} \u2192 {verdict['destination']} ({hypervisor}): {verdict['verdict']}"
    )
    items = [f"{r['severity']} \u00b7 {r['axis']}: {r['message']}" for r in verdict["reasons"]]
    expect(page.locator("#cell-body ul.reasons li")).to_have_text(
        items or ["No reason against it."]
    )
    suggestion = page.locator("#cell-body p.warning-box")
    if verdict.get("suggestion"):
        expect(suggestion).to_have_text(verdict["suggestion"]["message"])
    else:
        expect(suggestion).to_have_count(0)
