"""In the browser: record a migration outcome (preview, then save) and see it on the ledger and
on the accuracy page."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from migrations_log import services
from migrations_log.models import MigrationRecord

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ERROR = (
    "error: operation failed: guest CPU doesn't match specification: missing features: ssse3,sse4.1"
)


def test_record_an_outcome_and_see_it_on_the_accuracy_page(signed_in, page, demo_pool, screenshot):
    page.goto("/ledger/")
    expect(page.locator("p.empty")).to_contain_text("No migrations recorded yet")
    page.get_by_role("link", name="Record a migration").click()
    expect(page).to_have_url(re.compile(r"/ledger/record/$"))

    page.select_option("select[name=source_host]", label="harpertown")
    page.select_option("select[name=destination_host]", label="shanghai")
    page.fill("input[name=guest_cpu]", "host-passthrough")
    page.select_option("select[name=hypervisor]", "kvm")
    page.select_option("select[name=outcome]", "refused-before-start")
    page.fill("input[name=qemu_version]", "0.9.1")
    page.fill("textarea[name=error_message]", ERROR)
    page.fill("textarea[name=notes]", "Intel to AMD with the host CPU passed through.")

    # Preview: the explanation and the prediction, and nothing stored.
    page.get_by_role("button", name="Preview").click()
    preview = page.locator("section.preview")
    expect(preview).to_be_visible()
    explanation = preview.locator(".warning-box", has_text="The error means")
    expect(explanation).to_contain_text("libvirt")
    expect(explanation).to_contain_text("ssse3")
    expect(preview.locator(".verdict")).to_have_accessible_name("blocked")
    expect(preview.locator("ul.reasons li").first).to_be_visible()
    assert not MigrationRecord.objects.exists()
    # The form keeps what was typed.
    expect(page.locator("textarea[name=error_message]")).to_have_value(ERROR)
    expect(page.locator("select[name=outcome]")).to_have_value("refused-before-start")

    page.get_by_role("button", name="Save the record").click()
    expect(page).to_have_url(re.compile(r"/ledger/\d+/$"))
    record = MigrationRecord.objects.get()
    assert page.url.endswith(f"/ledger/{record.pk}/")
    assert record.predicted_verdict == "blocked"
    expect(page.locator("h1")).to_have_text("harpertown \u2192 shanghai")
    expect(page.locator("dl.identity")).to_contain_text("refused before start")
    expect(page.locator("pre.raw")).to_have_text(ERROR)
    expect(page.get_by_text("Intel to AMD with the host CPU passed through.")).to_be_visible()
    predicted = page.locator("section", has=page.locator("h2", has_text="Predicted when recorded"))
    expect(predicted.locator(".verdict")).to_have_accessible_name("blocked")
    expect(page.get_by_text("Same verdict as at record time.")).to_be_visible()
    expect(page.locator(".error-box", has_text="Contradiction")).to_have_count(0)

    page.get_by_role("link", name="\u2190 Ledger").click()
    rows = page.locator("table.list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("harpertown")
    expect(rows.first).to_contain_text("shanghai")
    expect(rows.first.locator(".verdict")).to_have_accessible_name("blocked")
    screenshot(page, "ledger")

    page.get_by_role("link", name="How often are we right?").click()
    expect(page).to_have_url(re.compile(r"/ledger/accuracy$"))
    expect(page.locator("main")).to_contain_text("(1 record in all)")
    sections = page.locator("section.accuracy")
    expect(sections).to_have_count(1)
    kvm = sections.first
    expect(kvm.locator("h2")).to_contain_text("(1 record)")
    chart = kvm.locator("svg.chart")
    expect(chart).to_be_visible()
    # The one record is in the cell "predicted blocked" x "refused before start", outlined as
    # right; every other cell of the chart is empty.
    counts = chart.locator("rect title").all_text_contents()
    assert sum(int(text.rsplit(": ", 1)[1]) for text in counts) == 1
    ones = [text for text in counts if text.endswith(": 1")]
    assert ones == ["predicted blocked, refused-before-start: 1"]
    right = chart.locator("rect.right")
    expect(right).to_have_count(1)
    expect(right).to_have_css("stroke", "rgb(0, 116, 63)")  # --v-safe, site.css
    expect(chart.locator("rect.wrong")).to_have_count(0)
    expect(kvm).to_contain_text(re.compile(r"precision\s+1\.00"))
    screenshot(page, "accuracy")


def test_a_contradiction_shows_on_the_host_and_cpu_pages_and_not_in_their_title(page, demo_pool):
    harpertown, shanghai = demo_pool["harpertown"], demo_pool["shanghai"]
    record = services.migration_record(
        source=harpertown.current_report,
        destination=shanghai.current_report,
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="succeeded",
        happened_on=datetime.date(2008, 11, 4),
        notes="It worked anyway.",
    )
    assert record.contradiction  # predicted blocked, but it succeeded

    cpu = harpertown.current_report.cpu_model
    for url, title in [
        (f"/hosts/{harpertown.pk}/", "harpertown"),
        (f"/cpus/{cpu.pk}/", str(cpu)),
    ]:
        page.goto(url)
        section = page.locator("h2", has_text="Migrations that contradicted our prediction")
        expect(section).to_be_visible()
        expect(page.locator("ul.contradictions li")).to_have_count(1)
        expect(page.locator("ul.contradictions li")).to_contain_text("harpertown")
        assert page.title() == f"{title} \u00b7 CPU Migration KB"


def test_the_accuracy_chart_shows_its_labels_whole(page, demo_pool):
    services.migration_record(
        source=demo_pool["barcelona"].current_report,
        destination=demo_pool["shanghai"].current_report,
        guest_cpu="host-passthrough",
        hypervisor="kvm",
        outcome="succeeded",
        happened_on=datetime.date(2008, 11, 4),
    )
    page.goto("/ledger/accuracy")
    chart = page.locator("svg.chart")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    labels = chart.locator("text")
    expect(labels.filter(has_text="guest crashed after")).to_have_count(1)
    for index in range(labels.count()):
        label = labels.nth(index).bounding_box()
        assert label["x"] >= box["x"] - 0.5, labels.nth(index).text_content()
        assert label["x"] + label["width"] <= box["x"] + box["width"] + 0.5, labels.nth(
            index
        ).text_content()
        assert label["y"] >= box["y"] - 0.5, labels.nth(index).text_content()
