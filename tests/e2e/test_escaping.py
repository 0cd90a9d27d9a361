"""Host names, notes and error messages with HTML and script in them are shown as text, checked
in the browser: nothing runs, no element is made from them, and the text reads literally, both
where the server renders it and where the page's JavaScript does (the heatmap's reasons panel)."""

import re

import pytest
from playwright.sync_api import expect

from cpus.models import Host, MatrixRun
from migrations_log.models import MigrationRecord
from tests.samples import DUMPS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

HOST = "<script>window.__xss=1</script><b>bold</b>"
IMG = '<img src=x onerror="window.__xss=2">'
NOTES = f"Notes {IMG} & <i>more</i>\nsecond line"
ERROR = f"error: operation failed: guest CPU doesn't match specification: {IMG}"


def assert_inert(page) -> None:
    """Nothing from the payloads ran or became an element."""
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.__xss") == "undefined"
    made = page.locator("b, img, i").count() + page.locator("script", has_text="__xss").count()
    assert made == 0, page.locator("main").inner_html()


def test_a_host_name_with_markup_is_shown_as_text(signed_in, page, demo_pool, celery_worker):
    # Added through the upload form, pasting the dump.
    page.goto("/reports/upload/")
    page.fill(
        "textarea[name=raw]",
        (DUMPS / "libvirt_cputestdata_x86_64-cpuid-Xeon-W3520.xml").read_text(),
    )
    page.fill("input[name=host_name]", HOST)
    page.get_by_role("button", name="Decode and add").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+/$"))
    host = Host.objects.get(name=HOST)
    expect(page.locator("dl.identity").get_by_role("link", name=HOST, exact=True)).to_be_visible()
    assert_inert(page)

    page.goto("/hosts/")
    link = page.get_by_role("link", name=HOST, exact=True)
    expect(link).to_be_visible()
    assert_inert(page)
    link.click()
    expect(page).to_have_url(re.compile(rf"/hosts/{host.pk}/$"))
    expect(page.locator("h1")).to_have_text(HOST)
    assert page.title() == f"{HOST} \u00b7 CPU Migration KB"
    assert_inert(page)

    page.goto(f"/cpus/{host.current_report.cpu_model_id}/")
    expect(page.get_by_role("link", name=HOST, exact=True)).to_be_visible()
    assert_inert(page)

    # In the pool builder: the host picks, the badges of the pool, the what-if choices.
    page.goto("/compat/")
    pick = page.locator("label.pick", has_text=HOST)
    expect(pick).to_have_count(1)
    pick.get_by_role("checkbox").check()
    page.get_by_role("checkbox", name=re.compile(r"^\s*shanghai\b")).check()
    page.get_by_role("button", name="Show the baseline").click()
    expect(page.locator("section.baseline .badge", has_text=HOST)).to_have_text(HOST)
    expect(page.locator("select[name=remove] option", has_text=HOST)).to_have_text(HOST)
    assert_inert(page)

    # In the matrix: the heatmap labels (server) and the reasons panel (the page's script).
    page.get_by_role("button", name="Run the matrix").click()
    expect(page).to_have_url(re.compile(r"/compat/runs/\d+/$"))
    celery_worker()
    heatmap = page.locator("table.heatmap[data-hypervisor=kvm]")
    expect(heatmap).to_be_visible(timeout=180_000)
    assert MatrixRun.objects.get().status == "succeeded"
    expect(heatmap.locator("th.row", has_text=HOST)).to_have_text(HOST)
    shanghai = demo_pool["shanghai"].pk
    heatmap.locator(f"td.cell[data-source='{host.pk}'][data-destination='{shanghai}']").click()
    expect(page.locator("#cell-title")).to_have_text(
        re.compile(rf"^{re.escape(HOST)} \u2192 shanghai \(kvm\): ")
    )
    assert_inert(page)


def test_notes_and_error_messages_with_markup_are_shown_as_text(signed_in, page, demo_pool):
    page.goto("/ledger/record/")
    page.select_option("select[name=source_host]", label="harpertown")
    page.select_option("select[name=destination_host]", label="barcelona")
    page.fill("input[name=guest_cpu]", "host-passthrough")
    page.select_option("select[name=hypervisor]", "kvm")
    page.select_option("select[name=outcome]", "refused-before-start")
    page.fill("textarea[name=error_message]", ERROR)
    page.fill("textarea[name=notes]", NOTES)
    page.fill("input[name=guest_os]", "<b>bold</b> Linux")

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("section.preview")).to_be_visible()
    expect(page.locator("textarea[name=error_message]")).to_have_value(ERROR)
    expect(page.locator("textarea[name=notes]")).to_have_value(NOTES)
    assert_inert(page)

    page.get_by_role("button", name="Save the record").click()
    expect(page).to_have_url(re.compile(r"/ledger/\d+/$"))
    record = MigrationRecord.objects.get()
    # Browsers send a textarea's line breaks as CRLF.
    assert (record.notes.replace("\r\n", "\n"), record.error_message) == (NOTES, ERROR)
    expect(page.locator("pre.raw")).to_have_text(ERROR)
    notes = page.locator("h2:has-text('Notes') + p")
    expect(notes.locator("br")).to_have_count(1)
    assert notes.inner_text() == NOTES  # as rendered: the <br> reads back as "\n"
    expect(page.locator("dl.identity")).to_contain_text("guest <b>bold</b> Linux")
    assert_inert(page)
